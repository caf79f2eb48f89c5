package dev.keywarden.server.gate;

import com.google.common.util.concurrent.MoreExecutors;
import dev.keywarden.api.v1.DecryptItem;
import dev.keywarden.api.v1.DecryptRequest;
import dev.keywarden.api.v1.EncryptRequest;
import dev.keywarden.audit.AuditLog;
import dev.keywarden.server.auth.Caller;
import dev.keywarden.server.auth.PolicyStore;
import dev.keywarden.server.auth.TokenStore;
import dev.keywarden.transit.TransitEngine;
import dev.keywarden.unseal.Core;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import java.security.cert.Certificate;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.LongAdder;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * Runs transit Encrypt and Decrypt on the Netty event loop that read them when nothing they need can wait, and on
 * the server's pool otherwise. A lone call handed to a pool wakes a pool thread, and its answer wakes the event loop
 * again; on a virtual machine each wake-up costs tens of µs, more than the call's own work (issue #15,
 * {@code AuditOverheadBenchmark}, client in the server's JVM: 10,000 Encrypts a second open loop took 1.80 cores on
 * the pool and 1.53 inline, p99 4.30 and 2.60 ms; closed loop 44,399 and 85,127 calls a second).
 *
 * <p>Two checks, both reading memory only. When the call starts (its headers): its token and the caller's policies
 * cached, no client certificate to verify, the audit devices not being opened (an unseal). When its request has been
 * read: at most {@link #MAX_ITEMS} items and {@link #MAX_BYTES}, and the key and the versions it needs loaded in
 * software, with nonces reserved ahead (see {@link TransitEngine#encryptsWithoutWaiting}). A call that fails the
 * first starts on the pool; one that fails the second is handed to it there and then, with every later event of the
 * call in order behind it. So a key's first use, an {@code -hsm} key, a token not yet cached or a large batch never
 * holds an event loop; what still can, rarely, is a race (a cache cleared between the check and the use).
 * {@code -Dkeywarden.grpc.inline=false} turns it off.
 */
public final class InlineCalls {
  static final String ENCRYPT = "keywarden.v1.TransitService/Encrypt";
  static final String DECRYPT = "keywarden.v1.TransitService/Decrypt";
  /** The calls that may run inline. */
  public static final Set<String> METHODS = Set.of(ENCRYPT, DECRYPT);
  /** Larger requests go to the pool: an event loop serves every call of its connections. */
  public static final int MAX_ITEMS = 16;
  static final int MAX_BYTES = 64 * 1024;

  private static final ThreadLocal<boolean[]> RUNNING_INLINE = ThreadLocal.withInitial(() -> new boolean[1]);

  /** The executor of a call that starts inline: the event loop itself, marked so that the call can be told. */
  public static final Executor ON_EVENT_LOOP = task -> {
    boolean[] inline = RUNNING_INLINE.get();
    boolean was = inline[0];
    inline[0] = true;
    try {
      task.run();
    } finally {
      inline[0] = was;
    }
  };

  private final Core core;
  private final TokenStore tokens;
  private final PolicyStore policies;
  private final AuditLog audit;
  private final TransitEngine transit;
  private final boolean enabled;
  private final LongAdder ranInline = new LongAdder();
  private final LongAdder handedOver = new LongAdder();
  private volatile Executor pool;

  public InlineCalls(Core core, TokenStore tokens, PolicyStore policies, AuditLog audit, TransitEngine transit,
      boolean enabled) {
    this.core = core;
    this.tokens = tokens;
    this.policies = policies;
    this.audit = audit;
    this.transit = transit;
    this.enabled = enabled;
  }

  /** Whether calls may run inline on this JVM: unless {@code -Dkeywarden.grpc.inline=false}. */
  public static boolean enabledByProperty() {
    return !"false".equals(System.getProperty("keywarden.grpc.inline"));
  }

  /** Never runs a call inline (an in-process server has no event loop to save). */
  public static InlineCalls off() {
    return new InlineCalls(null, null, null, null, null, false);
  }

  /** The pool a call is handed to when it turns out to need something that waits; until set, nothing runs inline. */
  public void handOverTo(Executor pool) {
    this.pool = pool;
  }

  /** Calls that ran inline from start to end. */
  public long ranInline() {
    return ranInline.sum();
  }

  /** Calls that started inline and were handed to the pool once their request was read. */
  public long handedOver() {
    return handedOver.sum();
  }

  /** Whether the call about to start may start on its event loop ({@link #ON_EVENT_LOOP}); see the class comment. */
  public boolean mayStartInline(ServerCall<?, ?> call, Metadata headers) {
    if (!enabled || pool == null || !METHODS.contains(call.getMethodDescriptor().getFullMethodName())
        || (audit != null && audit.opening())) {
      return false;
    }
    if (core.isSealed()) {
      return true; // refused at once
    }
    CallCredentials credentials = new CallCredentials(headers, call.getAttributes());
    if (credentials.tlsSession().map(InlineCalls::hasClientCertificate).orElse(false)) {
      return false;
    }
    Optional<String> bearer = credentials.bearer();
    if (bearer.isEmpty()) {
      return true; // refused at once
    }
    Optional<Caller> caller;
    try {
      caller = tokens.callerIfCached(bearer.get());
    } catch (RuntimeException sealedMeanwhile) { // the gate, on the pool, says what went wrong
      return false;
    }
    if (caller.isEmpty()) {
      return false;
    }
    for (String p : caller.get().policies()) {
      if (!policies.cached(p)) {
        return false;
      }
    }
    return true;
  }

  private static boolean hasClientCertificate(SSLSession session) {
    try {
      Certificate[] chain = session.getPeerCertificates();
      return chain != null && chain.length > 0;
    } catch (SSLPeerUnverifiedException none) {
      return false;
    }
  }

  /** Whether the request of a call running inline can be served without waiting; see the class comment. */
  boolean servesNow(Object inbound) {
    if (!(inbound instanceof InboundMessages.Parsed parsed)) {
      return true; // malformed or refused: answered at once
    }
    if (parsed.message() instanceof EncryptRequest r) {
      return r.getItemsCount() <= MAX_ITEMS && parsed.bytes() <= MAX_BYTES
          && transit.encryptsWithoutWaiting(r.getName());
    }
    if (parsed.message() instanceof DecryptRequest r) {
      if (r.getItemsCount() > MAX_ITEMS || parsed.bytes() > MAX_BYTES) {
        return false;
      }
      for (DecryptItem item : r.getItemsList()) {
        if (!transit.decryptsWithoutWaiting(r.getName(), version(item.getCiphertext()))) {
          return false;
        }
      }
      return true;
    }
    return false;
  }

  /** The version of a {@code kw:v<version>:…} ciphertext; 0 when it has no such prefix (it fails at once then). */
  static int version(String ciphertext) {
    if (!ciphertext.startsWith("kw:v")) {
      return 0;
    }
    int v = 0;
    for (int i = 4; i < ciphertext.length() && i < 14; i++) {
      char c = ciphertext.charAt(i);
      if (c == ':') {
        return v;
      }
      if (c < '0' || c > '9') {
        return 0;
      }
      v = v * 10 + (c - '0');
    }
    return 0;
  }

  /**
   * Starts a call through {@code next}; a call running inline gets a listener that hands it to the pool when its
   * request shows it must wait. Outermost of the server's interceptors (not one itself: a bean that were would be
   * registered a second time).
   */
  public <Q, R> ServerCall.Listener<Q> startCall(ServerCall<Q, R> call, Metadata headers,
      ServerCallHandler<Q, R> next) {
    ServerCall.Listener<Q> listener = next.startCall(call, headers);
    return RUNNING_INLINE.get()[0] ? new Hopper<>(listener) : listener;
  }

  /**
   * The events of a call that started inline: passed on where they arrive until its request shows it must wait; from
   * then on, that event and every later one in order on the pool.
   */
  private final class Hopper<Q> extends ServerCall.Listener<Q> {
    private final ServerCall.Listener<Q> delegate;
    /** Null while the call runs inline. Events arrive one at a time (grpc-java serializes them). */
    private Executor handedTo;
    private boolean decided;

    Hopper(ServerCall.Listener<Q> delegate) {
      this.delegate = delegate;
    }

    @Override
    public void onMessage(Q message) {
      if (!decided) {
        decided = true;
        if (servesNow(message)) {
          ranInline.increment();
        } else {
          handedTo = MoreExecutors.newSequentialExecutor(pool);
          handedOver.increment();
        }
      }
      run(() -> delegate.onMessage(message));
    }

    @Override
    public void onHalfClose() {
      run(delegate::onHalfClose);
    }

    @Override
    public void onCancel() {
      run(delegate::onCancel);
    }

    @Override
    public void onComplete() {
      run(delegate::onComplete);
    }

    @Override
    public void onReady() {
      run(delegate::onReady);
    }

    private void run(Runnable event) {
      Executor e = handedTo;
      if (e == null) {
        event.run();
      } else {
        e.execute(event);
      }
    }
  }
}
