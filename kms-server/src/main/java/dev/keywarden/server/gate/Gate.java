package dev.keywarden.server.gate;

import dev.keywarden.audit.AuditCall;
import dev.keywarden.audit.AuditCaller;
import dev.keywarden.audit.AuditLog;
import dev.keywarden.audit.AuditRequest;
import dev.keywarden.audit.AuditResponse;
import dev.keywarden.failure.KeywardenException;
import dev.keywarden.failure.KeywardenException.Kind;
import dev.keywarden.server.auth.AccessControl;
import dev.keywarden.server.auth.Caller;
import dev.keywarden.server.grpc.ErrorMappingInterceptor;
import dev.keywarden.unseal.Core;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.ForwardingServerCall.SimpleForwardingServerCall;
import io.grpc.Grpc;
import io.grpc.ForwardingServerCallListener.SimpleForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import io.grpc.Status;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The request gate every Keywarden RPC passes, before its handler runs: the request is parsed (malformed bytes get
 * INVALID_ARGUMENT, a server full of requests RESOURCE_EXHAUSTED); then, unless the method's rule is open, the server
 * must be unsealed (FAILED_PRECONDITION), the call's credentials must name a caller (UNAUTHENTICATED), and the
 * caller's policies must grant every permission the service's table asks of this request (PERMISSION_DENIED).
 * The caller is then in the call's {@link Context} for the handler ({@link #caller()}).
 *
 * <p>Every call the gate sees is audited here, and only here: a request record once the gate decided (allowed, or
 * refused with the reason) and before the handler runs, and a response record when the call closes. When no audit
 * device can write the request record the call fails UNAVAILABLE and its handler never runs. With no device enabled
 * the audit costs one volatile read.
 */
public final class Gate {
  private static final Logger log = LoggerFactory.getLogger(Gate.class);
  private static final Context.Key<Caller> CALLER = Context.key("keywarden-caller");
  private static final Context.Key<CallCredentials> CREDENTIALS = Context.key("keywarden-credentials");

  private final Core core;
  private final List<Authenticator> authenticators;
  private final AccessControl access;
  private final InboundMessages inbound;
  private final StringBounds strings = new StringBounds();
  private final AuditLog audit;
  private final AuditFields fields = new AuditFields();

  /** A gate whose calls are audited by {@code audit} (null: never audited, for tests of other things). */
  public Gate(Core core, List<Authenticator> authenticators, AccessControl access, InboundMessages inbound,
      AuditLog audit) {
    this.core = core;
    this.authenticators = List.copyOf(authenticators);
    this.access = access;
    this.inbound = inbound;
    this.audit = audit;
  }

  /** A gate that audits nothing. */
  public Gate(Core core, List<Authenticator> authenticators, AccessControl access, InboundMessages inbound) {
    this(core, authenticators, access, inbound, null);
  }

  /** The caller of the current call; only under a rule that is not open. */
  public static Caller caller() {
    Caller c = CALLER.get();
    if (c == null) {
      throw new IllegalStateException("no authenticated caller: the method's rule is open");
    }
    return c;
  }

  /**
   * What the current call carries (headers, TLS session); only under an open rule, for the login RPCs whose
   * credential is the call itself (a TLS client certificate).
   */
  public static CallCredentials credentials() {
    CallCredentials c = CREDENTIALS.get();
    if (c == null) {
      throw new IllegalStateException("call credentials are only given to open rules");
    }
    return c;
  }

  /**
   * The service as the server serves it: every method parsed leniently and guarded by its rule. A method without a
   * rule stops the server from starting.
   */
  public ServerServiceDefinition bind(ServerServiceDefinition definition, ServiceRules rules) {
    List<String> missing = rules.uncovered();
    if (!missing.isEmpty()) {
      throw new IllegalStateException("no authorization rule for " + missing);
    }
    ServiceDescriptor original = definition.getServiceDescriptor();
    ServiceDescriptor.Builder service = ServiceDescriptor.newBuilder(original.getName())
        .setSchemaDescriptor(original.getSchemaDescriptor());
    List<ServerMethodDefinition<Object, ?>> wrapped = new ArrayList<>();
    for (ServerMethodDefinition<?, ?> m : definition.getMethods()) {
      wrapped.add(guard(m, rules.rule(m.getMethodDescriptor().getFullMethodName())));
    }
    wrapped.forEach(m -> service.addMethod(m.getMethodDescriptor()));
    ServerServiceDefinition.Builder b = ServerServiceDefinition.builder(service.build());
    wrapped.forEach(b::addMethod);
    return b.build();
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  private <Q, R> ServerMethodDefinition<Object, R> guard(ServerMethodDefinition<Q, R> m, ServiceRules.Rule rule) {
    MethodDescriptor<Q, R> d = m.getMethodDescriptor();
    String messageName = d.getRequestMarshaller() instanceof MethodDescriptor.PrototypeMarshaller<?> p
        ? p.getMessagePrototype().getClass().getSimpleName() : "request";
    MethodDescriptor<Object, R> lenient = d.toBuilder(inbound.lenient(d.getRequestMarshaller(), messageName),
        d.getResponseMarshaller()).build();
    ServerCallHandler<Q, R> handler = m.getServerCallHandler();
    ServerCallHandler<Object, R> guarded = (call, headers) -> start(call, headers, (ServerCallHandler) handler, rule);
    return ServerMethodDefinition.create(lenient, guarded);
  }

  private <R> ServerCall.Listener<Object> start(ServerCall<Object, R> raw, Metadata headers,
      ServerCallHandler<Object, R> handler, ServiceRules.Rule rule) {
    Audited<R> call = new Audited<>(raw);
    Caller caller = null;
    if (!rule.open()) {
      try {
        core.unsealed();
        caller = authenticate(new CallCredentials(headers, raw.getAttributes()));
      } catch (RuntimeException e) {
        return refused(call, call.refusal(null, null, e));
      }
    }
    Context context = caller != null ? Context.current().withValue(CALLER, caller)
        : Context.current().withValue(CREDENTIALS, new CallCredentials(headers, raw.getAttributes()));
    return new Guard<>(call, Contexts.interceptCall(context, call, headers, handler), rule, caller);
  }

  private static AuditCaller auditCaller(Caller c) {
    if (c == null) {
      return AuditCaller.NONE;
    }
    Map<String, String> m = c.metadata();
    String serial = "cert".equals(c.authMethod()) ? m.getOrDefault("serial", "") : "";
    return new AuditCaller(c.authMethod(), c.displayName(), c.accessor(), serial, m.getOrDefault("jwt_subject", ""),
        c.policies());
  }

  private enum Send { OPEN, HOLDING, DROPPED }

  /**
   * Unary calls that change nothing, whose engine may run while their request record is being written: their answer
   * is held until a device wrote the record, and dropped (the call failing UNAVAILABLE) if none does in time. So the
   * audit guarantee is the same as for every other call — nothing leaves the server, and nothing changes in it,
   * before its request record is written — without a thread per call waiting for the device's fsync. Calls that
   * change state (create, rotate, delete, issue, …) wait for the record before their engine runs.
   */
  public static final java.util.Set<String> ANSWER_HELD = java.util.Set.of(
      "keywarden.v1.TransitService/Encrypt", "keywarden.v1.TransitService/Decrypt",
      "keywarden.v1.TransitService/Rewrap", "keywarden.v1.TransitService/GenerateDataKey",
      "keywarden.v1.TransitService/Sign", "keywarden.v1.TransitService/Verify", "keywarden.v1.TransitService/Hmac",
      "keywarden.v1.TransitService/VerifyHmac", "keywarden.v1.TransitService/GetKey",
      "keywarden.v1.TransitService/ListKeys", "keywarden.v1.JwtService/SignJwt", "keywarden.v1.JwtService/VerifyJwt");

  /**
   * The call as the handler sees it: it writes the response record when it closes (once, just after the status),
   * with the secrets of the last response message sent as HMACs.
   */
  private final class Audited<R> extends SimpleForwardingServerCall<Object, R> implements AuditLog.Release {
    private final AtomicBoolean responded = new AtomicBoolean();
    private volatile AuditCall audited = AuditCall.NOT_AUDITED;
    private volatile R last;
    // While HOLDING, what the handler sends waits here for the request record; DROPPED: it is discarded. All sends
    // to the real call happen under this object's lock, so the handler's thread and the audit release thread never
    // use it at once.
    private Send send = Send.OPEN;
    private Metadata heldHeaders;
    private final List<R> heldMessages = new ArrayList<>(1);
    private Status heldStatus;
    private Metadata heldTrailers;
    private AuditLog.PreparedResponse heldResponse;

    Audited(ServerCall<Object, R> call) {
      super(call);
    }

    /**
     * Writes the request record; UNAVAILABLE when no device could (the call must fail with it). For a unary call
     * that changes nothing, the record is handed over without waiting and the call's answer is held until a device
     * wrote it (see {@link #ANSWER_HELD}).
     */
    void request(Check.Permission p, Caller caller, boolean allowed, String reason, Object message) {
      if (audit == null || !audit.active() || audited.audited()) {
        return;
      }
      AuditFields.Extract x = fields.of(message);
      try {
        AuditRequest r = new AuditRequest(getMethodDescriptor().getFullMethodName(),
            p == null ? "" : p.resource(), p == null ? "" : String.join(",", p.anyOf()), auditCaller(caller),
            remote(), allowed, reason, x.engine(), x.secrets(), x.batchItems());
        if (allowed && getMethodDescriptor().getType() == MethodDescriptor.MethodType.UNARY
            && ANSWER_HELD.contains(getMethodDescriptor().getFullMethodName())) {
          synchronized (this) {
            send = Send.HOLDING;
          }
          try {
            audited = audit.writeRequestHeld(r, this);
          } catch (RuntimeException e) {
            synchronized (this) {
              send = Send.OPEN; // refused on the spot: the gate closes the call with it
            }
            throw e;
          }
          if (!audited.audited()) {
            written(); // no device after all: nothing to wait for
          }
        } else {
          audited = audit.writeRequest(r);
        }
      } finally {
        x.wipe();
      }
    }

    /** The request record is written: what the handler sent (or sends from now on) goes out. */
    @Override
    public void written() {
      boolean closedNow;
      synchronized (this) {
        if (send != Send.HOLDING) {
          return;
        }
        send = Send.OPEN;
        try {
          if (heldHeaders != null) {
            super.sendHeaders(heldHeaders);
          }
          for (R m : heldMessages) {
            super.sendMessage(m);
          }
          closedNow = heldStatus != null;
          if (closedNow) {
            super.close(heldStatus, heldTrailers);
          }
        } catch (RuntimeException e) {
          log.debug("a held answer could not be sent (the call ended meanwhile): {}", e.getClass().getSimpleName());
          closedNow = heldStatus != null;
        } finally {
          heldHeaders = null;
          heldMessages.clear();
        }
      }
      if (closedNow && heldResponse != null) {
        heldResponse.submit();
      }
    }

    /** No device wrote the request record in time: whatever the handler computed is dropped; the call fails. */
    @Override
    public void refused(KeywardenException e) {
      synchronized (this) {
        if (send != Send.HOLDING) {
          return;
        }
        send = Send.DROPPED;
        heldHeaders = null;
        heldMessages.clear();
        last = null;
        audited = AuditCall.NOT_AUDITED; // its request record was not written: no response record either
        try {
          super.close(ErrorMappingInterceptor.toStatus(e), ErrorMappingInterceptor.trailers(e));
        } catch (IllegalStateException alreadyClosed) {
          log.debug("call already closed when its request record was refused");
        }
      }
    }

    @Override
    public void sendHeaders(Metadata headers) {
      synchronized (this) {
        if (send == Send.HOLDING) {
          heldHeaders = headers;
          return;
        }
        if (send == Send.OPEN) {
          super.sendHeaders(headers);
        }
      }
    }

    /** Records a refusal; what the call must then fail with (the refusal, or UNAVAILABLE from the audit log). */
    RuntimeException refusal(Check.Permission p, Caller caller, RuntimeException e) {
      try {
        request(p, caller, false, e.getMessage(), null);
        return e;
      } catch (KeywardenException unavailable) {
        return unavailable;
      }
    }

    private String remote() {
      SocketAddress a = getAttributes() == null ? null : getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
      return a == null ? "" : a.toString();
    }

    @Override
    public void sendMessage(R message) {
      synchronized (this) {
        if (send == Send.DROPPED) {
          return;
        }
        last = message;
        if (send == Send.HOLDING) {
          heldMessages.add(message);
          return;
        }
        super.sendMessage(message);
      }
    }

    @Override
    public void close(Status status, Metadata trailers) {
      synchronized (this) {
        if (send == Send.DROPPED) {
          return;
        }
      }
      // made here, on the handler's thread (hashing the answer's secrets), not on the release thread
      AuditLog.PreparedResponse prepared = prepare(status);
      synchronized (this) {
        if (send == Send.HOLDING) {
          heldStatus = status;
          heldTrailers = trailers;
          heldResponse = prepared;
          return;
        }
        if (send == Send.DROPPED) {
          return;
        }
      }
      // the answer first, then the response record: it cannot fail the call (a lost one is logged and counted),
      // so it is handed over without waiting for a device write
      try {
        synchronized (this) {
          super.close(status, trailers);
        }
      } finally {
        if (prepared != null) {
          prepared.submit();
        }
      }
    }

    void respond(String code, String error, Object message) {
      AuditLog.PreparedResponse r = prepare(code, error, message);
      if (r != null) {
        r.submit();
      }
    }

    private AuditLog.PreparedResponse prepare(Status status) {
      return prepare(status.getCode().name(), status.isOk() ? "" : status.getDescription(),
          status.isOk() ? last : null);
    }

    /** The call's response record, made once (null when the call is not audited or already has it). */
    private AuditLog.PreparedResponse prepare(String code, String error, Object message) {
      AuditCall a = audited;
      if (!a.audited() || !responded.compareAndSet(false, true)) {
        return null;
      }
      AuditFields.Extract x = fields.of(message);
      try {
        return audit.prepareResponse(a, new AuditResponse(code, error, x.engine(), x.secrets(), x.batchItems(),
            x.batchStatuses()));
      } finally {
        x.wipe();
      }
    }
  }

  private Caller authenticate(CallCredentials credentials) {
    for (Authenticator a : authenticators) {
      Optional<Caller> caller = a.authenticate(credentials);
      if (caller.isPresent()) {
        return caller.get();
      }
    }
    throw new KeywardenException(Kind.UNAUTHENTICATED, "no credentials: "
        + authenticators.stream().map(Authenticator::howToPresent).collect(Collectors.joining("; or ")));
  }

  /** Closes a call the gate refused; whatever arrives for it afterwards is dropped (its budget given back). */
  private <R> ServerCall.Listener<Object> refused(ServerCall<Object, R> call, RuntimeException e) {
    close(call, e);
    return new ServerCall.Listener<>() {
      @Override
      public void onMessage(Object message) {
        if (message instanceof InboundMessages.Parsed p) {
          inbound.release(p);
        }
      }
    };
  }

  private static void close(ServerCall<?, ?> call, RuntimeException e) {
    Status status = ErrorMappingInterceptor.toStatus(e);
    try {
      call.close(status, ErrorMappingInterceptor.trailers(e));
    } catch (IllegalStateException alreadyClosed) {
      log.debug("call already closed: {}", status.getCode());
    }
  }

  /** Unwraps the request, checks the rule against it, and only then hands it to the handler. */
  private final class Guard<R> extends SimpleForwardingServerCallListener<Object> {
    private final Audited<R> call;
    private final ServiceRules.Rule rule;
    private final Caller caller;
    private InboundMessages.Parsed held;
    private Check.Permission permission;
    private boolean closed;

    Guard(Audited<R> call, ServerCall.Listener<Object> delegate, ServiceRules.Rule rule, Caller caller) {
      super(delegate);
      this.call = call;
      this.rule = rule;
      this.caller = caller;
    }

    @Override
    public void onMessage(Object message) {
      if (closed) {
        if (message instanceof InboundMessages.Parsed p) {
          inbound.release(p);
        }
        return;
      }
      try {
        if (message instanceof InboundMessages.Malformed m) {
          throw KeywardenException.invalid(m.reason());
        }
        if (message instanceof InboundMessages.Refused r) {
          throw new KeywardenException(Kind.RESOURCE_EXHAUSTED, "the server is busy: it is serving "
              + (r.inFlight() >> 20) + " MiB of requests (its limit is " + (r.budget() >> 20)
              + " MiB); retry with backoff or send smaller batches");
        }
        InboundMessages.Parsed parsed = (InboundMessages.Parsed) message;
        if (held != null) {
          inbound.release(held);
        }
        held = parsed;
        strings.check(parsed.message());
        authorize(parsed.message());
      } catch (RuntimeException e) {
        closed = true;
        close(call, call.refusal(permission, caller, e));
        return;
      }
      try {
        call.request(permission, caller, true, rule.open() ? "open" : "allowed", held.message());
        super.onMessage(held.message());
      } catch (RuntimeException e) {
        closed = true;
        close(call, e);
      }
    }

    private void authorize(Object request) {
      if (rule.open()) {
        return;
      }
      for (Check<Object> check : rule.checks()) {
        Optional<Check.Permission> p = check.required(request, caller);
        if (p.isPresent()) {
          permission = p.get();
          access.requireAny(caller, p.get().resource(), p.get().anyOf());
        }
      }
    }

    @Override
    public void onHalfClose() {
      if (!closed) {
        try {
          super.onHalfClose();
        } catch (RuntimeException e) {
          // the handler failed: closed here (as the error mapping would) so the response record sees the status
          closed = true;
          close(call, e);
        }
      }
    }

    @Override
    public void onReady() {
      if (!closed) {
        super.onReady();
      }
    }

    @Override
    public void onCancel() {
      call.respond("CANCELLED", "the client cancelled the call", null);
      giveBack();
      super.onCancel();
    }

    @Override
    public void onComplete() {
      giveBack();
      super.onComplete();
    }

    private void giveBack() {
      if (held != null) {
        inbound.release(held);
        held = null;
      }
    }
  }
}
