package dev.keywarden.server.gate;

import static org.junit.jupiter.api.Assertions.*;

import com.google.protobuf.ByteString;
import dev.keywarden.api.v1.*;
import dev.keywarden.transit.TransitLimits;
import io.grpc.CallOptions;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCalls;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The limits the README names are the limits the server enforces, the same on every RPC that takes the field, at
 * each edge; and bad bytes get INVALID_ARGUMENT, never UNKNOWN or INTERNAL.
 */
class RequestLimitsTest {
  static final int MAX_CONTEXT = TransitLimits.MAX_CONTEXT_BYTES;
  @TempDir
  Path dir;
  LocalKeywarden kw;
  TransitServiceGrpc.TransitServiceBlockingStub transit;

  @BeforeEach
  void start() throws Exception {
    kw = new LocalKeywarden(dir, 1L << 30);
    transit = TransitServiceGrpc.newBlockingStub(kw.channel).withCallCredentials(LocalKeywarden.bearer(kw.rootToken));
    transit.createKey(CreateKeyRequest.newBuilder().setName("k").build());
  }

  @AfterEach
  void stop() throws Exception {
    kw.close();
  }

  @Test
  void aContextOneByteOverTheLimitIsRefusedAlikeByEveryRpcThatTakesOne() {
    ByteString atLimit = ByteString.copyFrom(new byte[MAX_CONTEXT]);
    ByteString over = ByteString.copyFrom(new byte[MAX_CONTEXT + 1]);
    String expected = "context is " + (MAX_CONTEXT + 1) + " bytes; the limit is " + MAX_CONTEXT + " bytes";

    // At the limit, everything encrypt makes, decrypt and rewrap take back.
    String ct = encrypt(ByteString.copyFromUtf8("hello"), atLimit).getCiphertext();
    assertEquals("hello", decrypt(ct, atLimit).getPlaintext().toStringUtf8());
    assertTrue(rewrap(ct, atLimit).hasCiphertext());
    assertFalse(transit.generateDataKey(GenerateDataKeyRequest.newBuilder().setName("k").setContext(atLimit).build())
        .getCiphertext().isEmpty());

    // One byte over, every one of them says the same thing.
    List<String> refusals = new ArrayList<>();
    refusals.add(encrypt(ByteString.copyFromUtf8("hello"), over).getError().getMessage());
    refusals.add(decrypt(ct, over).getError().getMessage());
    refusals.add(rewrap(ct, over).getError().getMessage());
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> transit.generateDataKey(
        GenerateDataKeyRequest.newBuilder().setName("k").setContext(over).build()));
    assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
    refusals.add(e.getStatus().getDescription());
    assertEquals(List.of(expected, expected, expected, expected), refusals);
  }

  @Test
  void aBatchOfTenThousandOneKibItemsEncryptsAndDecryptsAndOneMoreItemIsRefused() {
    EncryptRequest.Builder enc = EncryptRequest.newBuilder().setName("k");
    byte[] item = new byte[1024];
    for (int i = 0; i < TransitLimits.MAX_BATCH_ITEMS; i++) {
      item[0] = (byte) i;
      enc.addItems(EncryptItem.newBuilder().setPlaintext(ByteString.copyFrom(item)));
    }
    EncryptResponse encrypted = transit.encrypt(enc.build());
    DecryptRequest.Builder dec = DecryptRequest.newBuilder().setName("k");
    encrypted.getResultsList().forEach(r -> dec.addItems(DecryptItem.newBuilder().setCiphertext(r.getCiphertext())));
    DecryptResponse decrypted = transit.decrypt(dec.build());
    assertEquals(TransitLimits.MAX_BATCH_ITEMS, decrypted.getResultsCount());
    assertEquals(1024, decrypted.getResults(9_999).getPlaintext().size());

    enc.addItems(EncryptItem.newBuilder().setPlaintext(ByteString.copyFrom(item)));
    assertEquals(Status.Code.INVALID_ARGUMENT, codeOf(() -> transit.encrypt(enc.build())));
  }

  @Test
  void whatEncryptAcceptsDecryptAcceptsUpToTheBatchPlaintextLimit() {
    // 15 items of 1 MiB plus a context each: just under the 16 MiB per call, and their ciphertexts (a third larger)
    // still fit one decrypt and one rewrap call.
    EncryptRequest.Builder enc = EncryptRequest.newBuilder().setName("k");
    ByteString mib = ByteString.copyFrom(new byte[TransitLimits.MAX_INPUT_BYTES]);
    ByteString ctx = ByteString.copyFrom(new byte[1000]);
    for (int i = 0; i < 15; i++) {
      enc.addItems(EncryptItem.newBuilder().setPlaintext(mib).setContext(ctx));
    }
    EncryptResponse encrypted = transit.encrypt(enc.build());
    DecryptRequest.Builder dec = DecryptRequest.newBuilder().setName("k");
    for (EncryptResult r : encrypted.getResultsList()) {
      assertTrue(r.hasCiphertext(), r.toString());
      dec.addItems(DecryptItem.newBuilder().setCiphertext(r.getCiphertext()).setContext(ctx));
    }
    assertTrue(transit.decrypt(dec.build()).getResultsList().stream().allMatch(DecryptResult::hasPlaintext));
    RewrapRequest.Builder rew = RewrapRequest.newBuilder().setName("k").addAllItems(dec.getItemsList());
    assertTrue(transit.rewrap(rew.build()).getResultsList().stream().allMatch(EncryptResult::hasCiphertext));

    // A 16th item takes the call over 16 MiB of plaintext: refused whole, naming the limit.
    enc.addItems(EncryptItem.newBuilder().setPlaintext(mib).setContext(ctx));
    enc.addItems(EncryptItem.newBuilder().setPlaintext(mib));
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> transit.encrypt(enc.build()));
    assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
    assertTrue(e.getStatus().getDescription().contains("the limit is " + TransitLimits.MAX_BATCH_PLAINTEXT_BYTES),
        e.getStatus().getDescription());
  }

  @Test
  void anItemOneByteOverOneMibIsRefusedAndOneMibIsNot() {
    ByteString mib = ByteString.copyFrom(new byte[TransitLimits.MAX_INPUT_BYTES]);
    assertTrue(encrypt(mib, ByteString.EMPTY).hasCiphertext());
    EncryptResult over = encrypt(ByteString.copyFrom(new byte[TransitLimits.MAX_INPUT_BYTES + 1]), ByteString.EMPTY);
    assertEquals("INVALID_ARGUMENT", over.getError().getCode());
  }

  @Test
  void aMessageOverTheServersLimitIsResourceExhaustedNamingIt() {
    EncryptRequest.Builder enc = EncryptRequest.newBuilder().setName("k");
    ByteString big = ByteString.copyFrom(new byte[17 << 20]);
    enc.addItems(EncryptItem.newBuilder().setPlaintext(big)).addItems(EncryptItem.newBuilder().setPlaintext(big));
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> transit.encrypt(enc.build()));
    assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode());
    assertTrue(e.getStatus().getDescription().contains(String.valueOf(InboundMessages.MAX_MESSAGE_BYTES)),
        e.getStatus().getDescription());
  }

  @Test
  void bytesThatAreNotTheRequestMessageAreInvalidArgument() {
    // A truncated field, a wrong wire type, and a string field holding bytes that are not UTF-8.
    for (byte[] body : List.of(new byte[] {0x0a, 0x05, 'a'}, new byte[] {0x0f, 0x01},
        new byte[] {0x0a, 0x02, (byte) 0xc3, 0x28})) {
      Status s = raw("keywarden.v1.TransitService/Encrypt", body);
      assertEquals(Status.Code.INVALID_ARGUMENT, s.getCode(), Arrays.toString(body) + ": " + s);
      assertTrue(s.getDescription().startsWith("the request is not a valid EncryptRequest message"),
          s.getDescription());
    }
    // Also on an open RPC, before anything else.
    assertEquals(Status.Code.INVALID_ARGUMENT, raw("keywarden.v1.SystemService/Unseal", new byte[] {0x0a, 0x7f}).getCode());
  }

  @Test
  void everyStringFieldIsBoundedEvenOnesNoHandlerChecks() {
    PkiServiceGrpc.PkiServiceBlockingStub pki = PkiServiceGrpc.newBlockingStub(kw.channel)
        .withCallCredentials(LocalKeywarden.bearer(kw.rootToken));
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> pki.generateRoot(
        GenerateRootRequest.newBuilder().setCommonName("root").setBaseUrl("https://ca.example/" + "a".repeat(1 << 20))
            .build()));
    assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
    assertEquals("base_url is " + ((1 << 20) + 19) + " characters; the limit is 1024", e.getStatus().getDescription());
    e = assertThrows(StatusRuntimeException.class, () -> pki.issue(IssueRequest.newBuilder().setRole("web")
        .addAltNames("ok.example").addAltNames("x".repeat(5000)).build()));
    assertEquals("alt_names[1] is 5000 characters; the limit is 1024", e.getStatus().getDescription());
    // A repeated PEM field, nested in a role, has the documents' limit: a long CA certificate is read, not cut off.
    StatusRuntimeException pem = assertThrows(StatusRuntimeException.class, () -> CertAuthServiceGrpc
        .newBlockingStub(kw.channel).withCallCredentials(LocalKeywarden.bearer(kw.rootToken))
        .writeCertRole(WriteCertRoleRequest.newBuilder().setRole(CertRole.newBuilder().setName("r")
            .addTrustedCaPems("-----BEGIN CERTIFICATE-----\n" + "A".repeat(3000) + "\n-----END CERTIFICATE-----\n")
            .addPolicies("default")).build()));
    assertFalse(pem.getStatus().getDescription().contains("the limit is 1024"), pem.getStatus().getDescription());
    e = assertThrows(StatusRuntimeException.class, () -> CertAuthServiceGrpc.newBlockingStub(kw.channel)
        .withCallCredentials(LocalKeywarden.bearer(kw.rootToken)).writeCertRole(WriteCertRoleRequest.newBuilder()
            .setRole(CertRole.newBuilder().setName("r").addAllowedCommonNames("c".repeat(2000))).build()));
    assertEquals("role.allowed_common_names[0] is 2000 characters; the limit is 1024", e.getStatus().getDescription());
    // A policy document may be long; it is the field's own limit that applies, not the names' one.
    PolicyServiceGrpc.newBlockingStub(kw.channel).withCallCredentials(LocalKeywarden.bearer(kw.rootToken))
        .writePolicy(WritePolicyRequest.newBuilder().setName("long").setDocument("{\"rules\":[{\"resource\":\"x\","
            + "\"capabilities\":[\"read\"]}]}" + " ".repeat(4000)).build());
  }

  @Test
  void dotAndDotDotAreNotKeyNames() {
    for (String name : List.of(".", "..")) {
      assertEquals(Status.Code.INVALID_ARGUMENT,
          codeOf(() -> transit.createKey(CreateKeyRequest.newBuilder().setName(name).build())));
    }
  }

  @Test
  void aHugeNameIsRefusedBeforeAnyPolicyPatternSeesItWithAShortMessage() {
    kw.policies.write("prod", "{\"rules\":[{\"resource\":\"transit/keys/*-*-prod\",\"capabilities\":[\"encrypt\"]}]}");
    String token = kw.tokens.create(List.of("prod"), Duration.ofHours(1), "").token();
    String dashes = "-".repeat(4 << 20);
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
        () -> transit.withCallCredentials(LocalKeywarden.bearer(token)).encrypt(EncryptRequest.newBuilder()
            .setName(dashes).addItems(EncryptItem.newBuilder().setPlaintext(ByteString.copyFromUtf8("x"))).build()));
    assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
    assertTrue(e.getStatus().getDescription().length() < 400, e.getStatus().getDescription());
  }

  @Test
  void unknownNamesAreQuotedShortInMessages() {
    String huge = "x".repeat(1 << 20);
    for (Runnable call : List.<Runnable>of(
        () -> transit.createKey(CreateKeyRequest.newBuilder().setName("t").setType(huge).build()),
        () -> transit.hmac(HmacRequest.newBuilder().setName("k").setHash(huge)
            .addItems(SignItem.newBuilder().setInput(ByteString.copyFromUtf8("x"))).build()))) {
      StatusRuntimeException e = assertThrows(StatusRuntimeException.class, call::run);
      assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
      assertTrue(e.getStatus().getDescription().length() < 400, e.getStatus().getDescription().length() + " chars");
    }
  }

  @Test
  @Timeout(60) // a hang guard, not a speed assertion: the old regex matcher took hours on this input
  void globMatchingIsLinearOnAPathologicalResource() {
    kw.policies.write("prod", "{\"rules\":[{\"resource\":\"transit/keys/*-*-*-*-prod\",\"capabilities\":[\"read\"]}]}");
    String token = kw.tokens.create(List.of("prod"), Duration.ofHours(1), "").token();
    dev.keywarden.server.auth.Caller caller = kw.tokens.resolve(token);
    String resource = "transit/keys/" + "-".repeat(4 << 20);
    assertFalse(kw.access.allows(caller, resource, "read"));
    assertTrue(kw.access.allows(caller, resource + "-prod", "read"));
  }

  private EncryptResult encrypt(ByteString plaintext, ByteString context) {
    return transit.encrypt(EncryptRequest.newBuilder().setName("k")
        .addItems(EncryptItem.newBuilder().setPlaintext(plaintext).setContext(context)).build()).getResults(0);
  }

  private DecryptResult decrypt(String ciphertext, ByteString context) {
    return transit.decrypt(DecryptRequest.newBuilder().setName("k")
        .addItems(DecryptItem.newBuilder().setCiphertext(ciphertext).setContext(context)).build()).getResults(0);
  }

  private EncryptResult rewrap(String ciphertext, ByteString context) {
    return transit.rewrap(RewrapRequest.newBuilder().setName("k")
        .addItems(DecryptItem.newBuilder().setCiphertext(ciphertext).setContext(context)).build()).getResults(0);
  }

  private static Status.Code codeOf(Runnable call) {
    return assertThrows(StatusRuntimeException.class, call::run).getStatus().getCode();
  }

  /** Sends {@code body} as the request of {@code method}, as it is. */
  private Status raw(String method, byte[] body) {
    MethodDescriptor.Marshaller<byte[]> bytes = new MethodDescriptor.Marshaller<>() {
      @Override
      public InputStream stream(byte[] value) {
        return new ByteArrayInputStream(value);
      }

      @Override
      public byte[] parse(InputStream stream) {
        try {
          return stream.readAllBytes();
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }
    };
    MethodDescriptor<byte[], byte[]> md = MethodDescriptor.<byte[], byte[]>newBuilder()
        .setType(MethodDescriptor.MethodType.UNARY).setFullMethodName(method)
        .setRequestMarshaller(bytes).setResponseMarshaller(bytes).build();
    try {
      ClientCalls.blockingUnaryCall(kw.channel, md,
          CallOptions.DEFAULT.withCallCredentials(LocalKeywarden.bearer(kw.rootToken)), body);
      return Status.OK;
    } catch (StatusRuntimeException e) {
      return e.getStatus();
    }
  }
}
