package dev.keywarden.client;

import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import com.google.rpc.ErrorInfo;
import dev.keywarden.api.v1.CreateKeyRequest;
import dev.keywarden.api.v1.CreateKeyResponse;
import dev.keywarden.api.v1.DecryptItem;
import dev.keywarden.api.v1.DecryptRequest;
import dev.keywarden.api.v1.DecryptResponse;
import dev.keywarden.api.v1.DecryptResult;
import dev.keywarden.api.v1.EncryptItem;
import dev.keywarden.api.v1.EncryptRequest;
import dev.keywarden.api.v1.EncryptResponse;
import dev.keywarden.api.v1.EncryptResult;
import dev.keywarden.api.v1.GetKeyRequest;
import dev.keywarden.api.v1.GetKeyResponse;
import dev.keywarden.api.v1.ItemError;
import dev.keywarden.api.v1.KeyInfo;
import dev.keywarden.api.v1.RotateKeyRequest;
import dev.keywarden.api.v1.RotateKeyResponse;
import dev.keywarden.api.v1.TransitServiceGrpc;
import io.grpc.InsecureServerCredentials;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.okhttp.OkHttpServerBuilder;
import io.grpc.protobuf.StatusProto;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A stand-in transit service on loopback (plaintext) for the client's unit tests. Its "ciphertext" is
 * {@code kw:v<version>:base64(len(context) ‖ context ‖ plaintext)}: no secrecy, but a different context fails
 * decryption, as on the real server. Key "missing" does not exist (NOT_FOUND per item, as the real server answers);
 * key "forbidden" fails the whole call PERMISSION_DENIED with an ErrorInfo; GetKey of "slow" takes 5 s; a plaintext
 * "bad" is an item error.
 */
public final class FakeKeywarden implements AutoCloseable {
  /** Calls to fail UNAVAILABLE before serving again. */
  public final AtomicInteger failNext = new AtomicInteger();
  /** Calls received, per method name ("Encrypt", "RotateKey", …). */
  public final List<String> calls = new CopyOnWriteArrayList<>();
  /** The authorization header of each call (null when none). */
  public final List<String> authorizations = new CopyOnWriteArrayList<>();
  private final AtomicInteger version = new AtomicInteger(1);
  private final Server server;

  public FakeKeywarden() throws IOException {
    ServerInterceptor gate = new ServerInterceptor() {
      @Override
      public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
          ServerCallHandler<Q, R> next) {
        calls.add(call.getMethodDescriptor().getBareMethodName());
        String auth = headers.get(KeywardenClient.AUTHORIZATION);
        authorizations.add(auth == null ? "none" : auth);
        if (failNext.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
          call.close(Status.UNAVAILABLE.withDescription("the HSM is unreachable: test; retrying"), new Metadata());
          return new ServerCall.Listener<>() {};
        }
        return next.startCall(call, headers);
      }
    };
    server = OkHttpServerBuilder.forPort(0, InsecureServerCredentials.create())
        .addService(ServerInterceptors.intercept(new Transit(), gate)).build().start();
  }

  /** 127.0.0.1:PORT */
  public String address() {
    return "127.0.0.1:" + server.getPort();
  }

  /** Calls of one method so far. */
  public long count(String method) {
    return calls.stream().filter(method::equals).count();
  }

  @Override
  public void close() {
    server.shutdownNow();
  }

  private final class Transit extends TransitServiceGrpc.TransitServiceImplBase {
    @Override
    public void createKey(CreateKeyRequest r, StreamObserver<CreateKeyResponse> out) {
      out.onNext(CreateKeyResponse.newBuilder().setKey(key(r.getName())).build());
      out.onCompleted();
    }

    @Override
    public void getKey(GetKeyRequest r, StreamObserver<GetKeyResponse> out) {
      if (r.getName().equals("slow")) {
        try {
          Thread.sleep(5000);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      out.onNext(GetKeyResponse.newBuilder().setKey(key(r.getName())).build());
      out.onCompleted();
    }

    @Override
    public void rotateKey(RotateKeyRequest r, StreamObserver<RotateKeyResponse> out) {
      version.incrementAndGet();
      out.onNext(RotateKeyResponse.newBuilder().setKey(key(r.getName())).build());
      out.onCompleted();
    }

    @Override
    public void encrypt(EncryptRequest r, StreamObserver<EncryptResponse> out) {
      if (refused(r.getName(), out)) {
        return;
      }
      EncryptResponse.Builder b = EncryptResponse.newBuilder();
      for (EncryptItem item : r.getItemsList()) {
        ItemError error = itemError(r.getName(), item.getPlaintext());
        if (error != null) {
          b.addResults(EncryptResult.newBuilder().setError(error));
          continue;
        }
        byte[] ctx = item.getContext().toByteArray();
        byte[] body = ByteBuffer.allocate(4 + ctx.length + item.getPlaintext().size()).putInt(ctx.length).put(ctx)
            .put(item.getPlaintext().toByteArray()).array();
        b.addResults(EncryptResult.newBuilder()
            .setCiphertext("kw:v" + version.get() + ":" + Base64.getEncoder().encodeToString(body)));
      }
      out.onNext(b.build());
      out.onCompleted();
    }

    @Override
    public void decrypt(DecryptRequest r, StreamObserver<DecryptResponse> out) {
      if (refused(r.getName(), out)) {
        return;
      }
      DecryptResponse.Builder b = DecryptResponse.newBuilder();
      for (DecryptItem item : r.getItemsList()) {
        ItemError error = itemError(r.getName(), ByteString.EMPTY);
        if (error != null) {
          b.addResults(DecryptResult.newBuilder().setError(error));
          continue;
        }
        try {
          String text = item.getCiphertext();
          ByteBuffer body = ByteBuffer.wrap(Base64.getDecoder().decode(text.substring(text.indexOf(':', 3) + 1)));
          byte[] ctx = new byte[body.getInt()];
          body.get(ctx);
          if (!Arrays.equals(ctx, item.getContext().toByteArray())) {
            b.addResults(DecryptResult.newBuilder().setError(ItemError.newBuilder().setCode("INVALID_ARGUMENT")
                .setMessage("the ciphertext does not decrypt with this key and context")));
            continue;
          }
          byte[] plain = new byte[body.remaining()];
          body.get(plain);
          b.addResults(DecryptResult.newBuilder().setPlaintext(ByteString.copyFrom(plain)));
        } catch (RuntimeException e) {
          b.addResults(DecryptResult.newBuilder().setError(ItemError.newBuilder().setCode("INVALID_ARGUMENT")
              .setMessage("not a ciphertext")));
        }
      }
      out.onNext(b.build());
      out.onCompleted();
    }

    private KeyInfo key(String name) {
      return KeyInfo.newBuilder().setName(name).setType("aes256-gcm96").setLatestVersion(version.get()).build();
    }

    private boolean refused(String name, StreamObserver<?> out) {
      if (!name.equals("forbidden")) {
        return false;
      }
      com.google.rpc.Status status = com.google.rpc.Status.newBuilder().setCode(Status.Code.PERMISSION_DENIED.value())
          .setMessage("policies [orders] do not grant decrypt on transit/keys/forbidden")
          .addDetails(Any.pack(ErrorInfo.newBuilder().setReason("CAPABILITY_NOT_GRANTED").setDomain("keywarden.dev")
              .putMetadata("capability", "decrypt").build()))
          .build();
      out.onError(StatusProto.toStatusRuntimeException(status));
      return true;
    }

    private ItemError itemError(String name, ByteString plaintext) {
      if (name.equals("missing")) {
        return ItemError.newBuilder().setCode("NOT_FOUND").setMessage("no transit key 'missing'").build();
      }
      if (plaintext.toStringUtf8().equals("bad")) {
        return ItemError.newBuilder().setCode("INVALID_ARGUMENT").setMessage("bad item").build();
      }
      return null;
    }
  }
}
