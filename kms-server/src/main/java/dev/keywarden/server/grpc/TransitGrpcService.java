package dev.keywarden.server.grpc;

import static dev.keywarden.server.grpc.SystemGrpcService.reply;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import com.google.protobuf.Duration;
import com.google.protobuf.Timestamp;
import com.google.protobuf.util.Durations;
import dev.keywarden.api.v1.*;
import dev.keywarden.failure.KeywardenException;
import dev.keywarden.server.gate.Gate;
import dev.keywarden.server.gate.GuardedService;
import dev.keywarden.server.gate.ServiceRules;
import dev.keywarden.transit.KeyType;
import dev.keywarden.transit.Keyring;
import dev.keywarden.transit.KeyringConfig;
import dev.keywarden.transit.TransitEngine;
import dev.keywarden.transit.TransitLimits;
import dev.keywarden.transit.crypto.HashAlgorithm;
import dev.keywarden.transit.crypto.SignatureOptions;
import io.grpc.ServerServiceDefinition;
import io.grpc.stub.StreamObserver;
import jakarta.inject.Singleton;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;

/**
 * gRPC TransitService: the gate authorizes `transit/keys/NAME` from the table below; each handler validates, calls
 * the engine and shapes the result.
 */
@Singleton
public final class TransitGrpcService implements TransitServiceGrpc.AsyncService, GuardedService {
  static final int MAX_BATCH = TransitLimits.MAX_BATCH_ITEMS;
  private final TransitEngine engine;
  private final Gate gate;

  public TransitGrpcService(TransitEngine engine, Gate gate) {
    this.engine = engine;
    this.gate = gate;
  }

  @Override
  public ServerServiceDefinition bindService() {
    return gate.bind(TransitServiceGrpc.bindService(this), rules());
  }

  @Override
  public ServiceRules rules() {
    return ServiceRules.of(TransitServiceGrpc.getServiceDescriptor())
        .allow(TransitServiceGrpc.getCreateKeyMethod(), r -> key(r.getName()), "create")
        .allow(TransitServiceGrpc.getGetKeyMethod(), r -> key(r.getName()), "read")
        .allow(TransitServiceGrpc.getListKeysMethod(), r -> "transit/keys", "list")
        .allow(TransitServiceGrpc.getRotateKeyMethod(), r -> key(r.getName()), "rotate")
        .allow(TransitServiceGrpc.getUpdateKeyConfigMethod(), r -> key(r.getName()), "update")
        .allow(TransitServiceGrpc.getTrimKeyMethod(), r -> key(r.getName()), "update")
        .allow(TransitServiceGrpc.getDeleteKeyMethod(), r -> key(r.getName()), "delete")
        .allow(TransitServiceGrpc.getEncryptMethod(), r -> key(r.getName()), "encrypt")
        .allow(TransitServiceGrpc.getDecryptMethod(), r -> key(r.getName()), "decrypt")
        .allow(TransitServiceGrpc.getRewrapMethod(), r -> key(r.getName()), "rewrap")
        .allow(TransitServiceGrpc.getGenerateDataKeyMethod(), r -> key(r.getName()), "datakey")
        .allow(TransitServiceGrpc.getSignMethod(), r -> key(r.getName()), "sign")
        .allow(TransitServiceGrpc.getVerifyMethod(), r -> key(r.getName()), "verify")
        .allow(TransitServiceGrpc.getHmacMethod(), r -> key(r.getName()), "hmac")
        .allow(TransitServiceGrpc.getVerifyHmacMethod(), r -> key(r.getName()), "hmac")
        .build();
  }

  /** {@code transit/keys/NAME}, once NAME is a valid key name (so no policy pattern is matched against junk). */
  private static String key(String name) {
    try {
      return "transit/keys/" + TransitEngine.checkName(name);
    } catch (KeywardenException e) {
      throw e.withField("name");
    }
  }

  @Override
  @SuppressWarnings("deprecation") // type: read for clients of the 0.1 API
  public void createKey(CreateKeyRequest r, StreamObserver<CreateKeyResponse> out) {
    KeyType type = ApiEnums.TRANSIT_KEY_TYPE.either(r.getType(), "type", r.getKeyType(), "key_type")
        .orElse(KeyType.AES256_GCM96);
    long period = r.hasAutoRotatePeriod() ? seconds(r.getAutoRotatePeriod(), "auto_rotate_period") : 0;
    Keyring k = engine.createKey(r.getName(), type,
        new KeyringConfig(r.getDerived(), r.getConvergent(), r.getDeletionAllowed(), period, 1, 1));
    reply(out, CreateKeyResponse.newBuilder().setKey(info(k)).build());
  }

  @Override
  public void getKey(GetKeyRequest r, StreamObserver<GetKeyResponse> out) {
    reply(out, GetKeyResponse.newBuilder().setKey(info(engine.getKey(r.getName()))).build());
  }

  @Override
  public void listKeys(ListKeysRequest r, StreamObserver<ListKeysResponse> out) {
    int limit = ListPages.limit(r.getLimit());
    List<String> page = engine.listKeys(r.getAfter(), limit);
    reply(out, ListKeysResponse.newBuilder().addAllNames(page).setNextAfter(ListPages.nextAfter(page, limit)).build());
  }

  @Override
  public void rotateKey(RotateKeyRequest r, StreamObserver<RotateKeyResponse> out) {
    reply(out, RotateKeyResponse.newBuilder().setKey(info(engine.rotate(r.getName()))).build());
  }

  @Override
  public void updateKeyConfig(UpdateKeyConfigRequest r, StreamObserver<UpdateKeyConfigResponse> out) {
    Keyring k = engine.updateConfig(r.getName(), new TransitEngine.ConfigChange(
        r.hasMinDecryptionVersion() ? r.getMinDecryptionVersion() : null,
        r.hasMinEncryptionVersion() ? r.getMinEncryptionVersion() : null,
        r.hasDeletionAllowed() ? r.getDeletionAllowed() : null,
        r.hasAutoRotatePeriod() ? seconds(r.getAutoRotatePeriod(), "auto_rotate_period") : null));
    reply(out, UpdateKeyConfigResponse.newBuilder().setKey(info(k)).build());
  }

  @Override
  public void trimKey(TrimKeyRequest r, StreamObserver<TrimKeyResponse> out) {
    reply(out, TrimKeyResponse.newBuilder().setKey(info(engine.trim(r.getName()))).build());
  }

  @Override
  public void deleteKey(DeleteKeyRequest r, StreamObserver<DeleteKeyResponse> out) {
    engine.delete(r.getName());
    reply(out, DeleteKeyResponse.getDefaultInstance());
  }

  @Override
  public void encrypt(EncryptRequest r, StreamObserver<EncryptResponse> out) {
    checkBatch(r.getName(), r.getItemsCount());
    long total = 0;
    for (EncryptItem item : r.getItemsList()) {
      total += item.getPlaintext().size() + item.getContext().size();
    }
    if (total > TransitLimits.MAX_BATCH_PLAINTEXT_BYTES) {
      throw KeywardenException.invalidField("items",
          "items hold " + total + " bytes of plaintext and context; the limit is "
          + TransitLimits.MAX_BATCH_PLAINTEXT_BYTES + " per call (so that the ciphertexts fit one decrypt call):"
          + " split the batch");
    }
    EncryptResponse.Builder b = EncryptResponse.newBuilder();
    for (EncryptItem item : r.getItemsList()) {
      byte[] plaintext = item.getPlaintext().toByteArray();
      try {
        b.addResults(encryptResult(() -> engine.encryptAscii(r.getName(), plaintext, item.getContext().toByteArray())));
      } finally {
        Arrays.fill(plaintext, (byte) 0);
      }
    }
    reply(out, b.build());
  }

  @Override
  public void decrypt(DecryptRequest r, StreamObserver<DecryptResponse> out) {
    checkBatch(r.getName(), r.getItemsCount());
    DecryptResponse.Builder b = DecryptResponse.newBuilder();
    for (DecryptItem item : r.getItemsList()) {
      try {
        byte[] plain = engine.decryptAscii(r.getName(), item.getCiphertextBytes().toByteArray(),
            item.getContext().toByteArray());
        b.addResults(DecryptResult.newBuilder().setPlaintext(ByteString.copyFrom(plain)));
        Arrays.fill(plain, (byte) 0);
      } catch (KeywardenException e) {
        b.addResults(DecryptResult.newBuilder().setError(error(e)));
      }
    }
    reply(out, b.build());
  }

  @Override
  public void rewrap(RewrapRequest r, StreamObserver<RewrapResponse> out) {
    checkBatch(r.getName(), r.getItemsCount());
    RewrapResponse.Builder b = RewrapResponse.newBuilder();
    for (DecryptItem item : r.getItemsList()) {
      b.addResults(encryptResult(() -> engine.rewrapAscii(r.getName(), item.getCiphertextBytes().toByteArray(),
          item.getContext().toByteArray())));
    }
    reply(out, b.build());
  }

  @Override
  public void generateDataKey(GenerateDataKeyRequest r, StreamObserver<GenerateDataKeyResponse> out) {
    int bits = r.getBits() == 0 ? 256 : r.getBits();
    if (bits != 128 && bits != 256 && bits != 512) {
      throw KeywardenException.invalidField("bits", "bits must be 128, 256 or 512 (0 means 256), got " + r.getBits());
    }
    TransitEngine.DataKey key = engine.dataKey(r.getName(), bits, r.getContext().toByteArray());
    GenerateDataKeyResponse.Builder b = GenerateDataKeyResponse.newBuilder().setCiphertext(key.ciphertext());
    if (!r.getWrappedOnly()) {
      b.setPlaintext(ByteString.copyFrom(key.plaintext()));
    }
    Arrays.fill(key.plaintext(), (byte) 0);
    reply(out, b.build());
  }

  @Override
  public void sign(SignRequest r, StreamObserver<SignResponse> out) {
    checkBatch(r.getName(), r.getItemsCount());
    SignatureOptions options = options(r.getParams());
    SignResponse.Builder b = SignResponse.newBuilder();
    for (SignItem item : r.getItemsList()) {
      b.addResults(signResult(() -> engine.sign(r.getName(), item.getInput().toByteArray(), options,
          r.getKeyVersion()).signature()));
    }
    reply(out, b.build());
  }

  @Override
  public void verify(VerifyRequest r, StreamObserver<VerifyResponse> out) {
    checkBatch(r.getName(), r.getItemsCount());
    SignatureOptions options = options(r.getParams());
    VerifyResponse.Builder b = VerifyResponse.newBuilder();
    for (VerifyItem item : r.getItemsList()) {
      b.addResults(verifyResult(() -> engine.verify(r.getName(), item.getInput().toByteArray(),
          item.getSignature(), options)));
    }
    reply(out, b.build());
  }

  @Override
  @SuppressWarnings("deprecation") // hash: read for clients of the 0.1 API
  public void hmac(HmacRequest r, StreamObserver<HmacResponse> out) {
    checkBatch(r.getName(), r.getItemsCount());
    HashAlgorithm hash = ApiEnums.HASH_ALGORITHM.either(r.getHash(), "hash", r.getHashAlgorithm(), "hash_algorithm")
        .orElse(HashAlgorithm.SHA2_256);
    HmacResponse.Builder b = HmacResponse.newBuilder();
    for (SignItem item : r.getItemsList()) {
      b.addResults(signResult(() -> engine.hmac(r.getName(), item.getInput().toByteArray(), hash,
          r.getKeyVersion())));
    }
    reply(out, b.build());
  }

  @Override
  @SuppressWarnings("deprecation") // hash: read for clients of the 0.1 API
  public void verifyHmac(VerifyHmacRequest r, StreamObserver<VerifyHmacResponse> out) {
    checkBatch(r.getName(), r.getItemsCount());
    HashAlgorithm hash = ApiEnums.HASH_ALGORITHM.either(r.getHash(), "hash", r.getHashAlgorithm(), "hash_algorithm")
        .orElse(HashAlgorithm.SHA2_256);
    VerifyHmacResponse.Builder b = VerifyHmacResponse.newBuilder();
    for (VerifyItem item : r.getItemsList()) {
      b.addResults(verifyResult(() -> engine.verifyHmac(r.getName(), item.getInput().toByteArray(),
          item.getSignature(), hash)));
    }
    reply(out, b.build());
  }

  // ---- shaping --------------------------------------------------------------------------------------------------

  private interface Op<T> {
    T run();
  }

  /**
   * The ciphertext text's US-ASCII bytes go into the string field as they are: no Java String, no UTF-8 pass. The
   * array is fresh and not kept anywhere else, so wrapping it without a copy is safe.
   */
  private static EncryptResult encryptResult(Op<byte[]> op) {
    try {
      return EncryptResult.newBuilder().setCiphertextBytes(UnsafeByteOperations.unsafeWrap(op.run())).build();
    } catch (KeywardenException e) {
      return EncryptResult.newBuilder().setError(error(e)).build();
    }
  }

  private static SignResult signResult(Op<String> op) {
    try {
      return SignResult.newBuilder().setSignature(op.run()).build();
    } catch (KeywardenException e) {
      return SignResult.newBuilder().setError(error(e)).build();
    }
  }

  private static VerifyResult verifyResult(Op<Boolean> op) {
    try {
      return VerifyResult.newBuilder().setValid(op.run()).build();
    } catch (KeywardenException e) {
      return VerifyResult.newBuilder().setError(error(e)).build();
    }
  }

  private static ItemError error(KeywardenException e) {
    return ItemError.newBuilder().setCode(e.kind().name()).setMessage(e.getMessage())
        .setStatusCode(ErrorMappingInterceptor.code(e.kind()).value()).setReason(e.reason()).build();
  }

  /**
   * What concerns the whole call fails the call: the key (NOT_FOUND, reason KEY_NOT_FOUND, when it does not exist; a
   * cached look-up) and the number of items. Items then fail alone only for their own content.
   */
  private void checkBatch(String name, int items) {
    engine.getKey(name);
    if (items == 0) {
      throw KeywardenException.invalidField("items", "items is empty: send at least one item");
    }
    if (items > MAX_BATCH) {
      throw KeywardenException.invalidField("items",
          "items has " + items + " entries; the limit is " + MAX_BATCH + " per call");
    }
  }

  @SuppressWarnings("deprecation") // hash, rsa_padding, signature_encoding: read for clients of the 0.1 API
  private static SignatureOptions options(SignatureParams p) {
    SignatureOptions d = SignatureOptions.defaults();
    return new SignatureOptions(
        ApiEnums.HASH_ALGORITHM.either(p.getHash(), "params.hash", p.getHashAlgorithm(), "params.hash_algorithm")
            .orElse(d.hash()),
        p.getPrehashed(),
        ApiEnums.RSA_PADDING.either(p.getRsaPadding(), "params.rsa_padding", p.getPadding(), "params.padding")
            .orElse(d.rsaPadding()),
        ApiEnums.SIGNATURE_ENCODING.either(p.getSignatureEncoding(), "params.signature_encoding", p.getEncoding(),
            "params.encoding").orElse(d.encoding()));
  }

  private static long seconds(Duration d, String field) {
    if (!Durations.isValid(d) || d.getSeconds() < 0) {
      throw KeywardenException.invalidField(field, field + " must be a non-negative duration");
    }
    if (d.getSeconds() != 0 && d.getSeconds() < 60) {
      throw KeywardenException.invalidField(field, field + " must be at least 60s (or zero for never)");
    }
    return d.getSeconds();
  }

  @SuppressWarnings("deprecation") // type: filled for clients of the 0.1 API
  static KeyInfo info(Keyring k) {
    KeyInfo.Builder b = KeyInfo.newBuilder().setName(k.name()).setType(k.type())
        .setKeyType(ApiEnums.TRANSIT_KEY_TYPE.protoOf(k.type()))
        .setLatestVersion(k.latestVersion()).setOldestVersion(k.oldestVersion())
        .setMinDecryptionVersion(k.minDecryptionVersion())
        .setMinEncryptionVersion(Math.max(1, k.config().minEncryptionVersion()))
        .setDeletionAllowed(k.config().deletionAllowed()).setDerived(k.config().derived())
        .setConvergent(k.config().convergent())
        .setAutoRotatePeriod(Durations.fromSeconds(k.config().autoRotatePeriodSeconds()))
        .setCreateTime(timestamp(k.createTime()));
    k.versions().forEach(v -> {
      KeyVersionInfo.Builder vb = KeyVersionInfo.newBuilder().setVersion(v.version())
          .setCreateTime(timestamp(v.createTime()));
      if (v.publicKey() != null) {
        vb.setPublicKeyPem(pem(v.publicKey()));
      }
      b.addVersions(vb);
    });
    return b.build();
  }

  private static String pem(byte[] spki) {
    return "-----BEGIN PUBLIC KEY-----\n"
        + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(spki)
        + "\n-----END PUBLIC KEY-----\n";
  }

  private static Timestamp timestamp(long millis) {
    return Timestamp.newBuilder().setSeconds(Math.floorDiv(millis, 1000))
        .setNanos((int) Math.floorMod(millis, 1000) * 1_000_000).build();
  }
}
