package dev.keywarden.client;

import com.google.protobuf.ByteString;
import dev.keywarden.api.v1.CreateKeyRequest;
import dev.keywarden.api.v1.DecryptItem;
import dev.keywarden.api.v1.DecryptRequest;
import dev.keywarden.api.v1.DecryptResult;
import dev.keywarden.api.v1.EncryptItem;
import dev.keywarden.api.v1.EncryptRequest;
import dev.keywarden.api.v1.EncryptResult;
import dev.keywarden.api.v1.GetKeyRequest;
import dev.keywarden.api.v1.ItemError;
import dev.keywarden.api.v1.KeyInfo;
import dev.keywarden.api.v1.RewrapRequest;
import dev.keywarden.api.v1.RotateKeyRequest;
import dev.keywarden.api.v1.TransitServiceGrpc.TransitServiceBlockingStub;
import io.grpc.Status;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Transit calls: keys, encryption and decryption under policy resource {@code transit/keys/NAME}.
 *
 * <p>The context is associated data (as an AWS KMS encryption context): the server authenticates it with the
 * ciphertext, so decryption needs the same bytes again; null means none. A derived key requires a non-empty context.
 *
 * <p><b>Batches</b> answer every item on its own: an item that fails (a ciphertext that does not decrypt, a context
 * over 64 KiB) is an {@link ItemResult} holding its error while the others succeed. The whole call fails with a
 * {@link KeywardenClientException} only for what concerns the call: a key that does not exist (NOT_FOUND, reason
 * KEY_NOT_FOUND), no credentials (UNAUTHENTICATED), a policy that
 * refuses the capability on the key (PERMISSION_DENIED), a sealed server (FAILED_PRECONDITION), no items or more than
 * 10,000, more than 16 MiB of plaintext and context in one Encrypt (INVALID_ARGUMENT), an unreachable server
 * (UNAVAILABLE) or the deadline (DEADLINE_EXCEEDED). The single-item methods throw the item's error.
 */
public final class TransitClient {
  private final KeywardenClient client;
  private final TransitServiceBlockingStub stub;

  TransitClient(KeywardenClient client, TransitServiceBlockingStub stub) {
    this.client = client;
    this.stub = stub;
  }

  /** Creates an {@code aes256-gcm96} key; ALREADY_EXISTS when the name is taken. Not retried. */
  public KeyInfo createKey(String name) {
    return createKey(CreateKeyRequest.newBuilder().setName(Objects.requireNonNull(name, "name")).build());
  }

  /** Creates a key with every option of the request (type, derived, auto-rotation, …). Not retried. */
  public KeyInfo createKey(CreateKeyRequest request) {
    return client.call(stub, false, s -> s.createKey(request)).getKey();
  }

  /** Describes a key (versions, config; never key material). Retried on UNAVAILABLE. */
  public KeyInfo getKey(String name) {
    GetKeyRequest request = GetKeyRequest.newBuilder().setName(Objects.requireNonNull(name, "name")).build();
    return client.call(stub, true, s -> s.getKey(request)).getKey();
  }

  /** Adds a new latest version; older ciphertexts keep decrypting. Not retried (a retry would add another version). */
  public KeyInfo rotateKey(String name) {
    RotateKeyRequest request = RotateKeyRequest.newBuilder().setName(Objects.requireNonNull(name, "name")).build();
    return client.call(stub, false, s -> s.rotateKey(request)).getKey();
  }

  /** Encrypts under the key's latest version; returns {@code kw:v<version>:<base64>}. Retried on UNAVAILABLE. */
  public String encrypt(String key, byte[] plaintext, byte[] context) {
    return encrypt(key, List.of(Objects.requireNonNull(plaintext, "plaintext")), context).get(0).value();
  }

  /** Decrypts a ciphertext made with {@code context}; the caller owns (and may zeroize) the result. Retried. */
  public byte[] decrypt(String key, String ciphertext, byte[] context) {
    return decrypt(key, List.of(Objects.requireNonNull(ciphertext, "ciphertext")), context).get(0).value();
  }

  /** Encrypts each plaintext, with no context; one result per item, in order. */
  public List<ItemResult<String>> encrypt(String key, List<byte[]> plaintexts) {
    return encrypt(key, plaintexts, null);
  }

  /**
   * Encrypts each plaintext with the same context; one result per item, in order. Retried on UNAVAILABLE: a repeated
   * Encrypt only makes other ciphertexts of the same plaintexts (each with a fresh nonce), all of them valid.
   */
  public List<ItemResult<String>> encrypt(String key, List<byte[]> plaintexts, byte[] context) {
    EncryptRequest.Builder request = EncryptRequest.newBuilder().setName(Objects.requireNonNull(key, "key"));
    ByteString ctx = bytes(context);
    for (byte[] plaintext : plaintexts) {
      request.addItems(EncryptItem.newBuilder().setPlaintext(ByteString.copyFrom(plaintext)).setContext(ctx));
    }
    EncryptRequest built = request.build();
    List<EncryptResult> results = client.call(stub, true, s -> s.encrypt(built)).getResultsList();
    return ciphertexts(results, plaintexts.size());
  }

  /** Decrypts each ciphertext, with no context; one result per item, in order. */
  public List<ItemResult<byte[]>> decrypt(String key, List<String> ciphertexts) {
    return decrypt(key, ciphertexts, null);
  }

  /** Decrypts each ciphertext with the same context; one result per item, in order. Retried on UNAVAILABLE. */
  public List<ItemResult<byte[]>> decrypt(String key, List<String> ciphertexts, byte[] context) {
    DecryptRequest built = DecryptRequest.newBuilder().setName(Objects.requireNonNull(key, "key"))
        .addAllItems(decryptItems(ciphertexts, context)).build();
    List<DecryptResult> results = client.call(stub, true, s -> s.decrypt(built)).getResultsList();
    checkCount(results.size(), ciphertexts.size());
    List<ItemResult<byte[]>> out = new ArrayList<>(results.size());
    for (DecryptResult r : results) {
      out.add(r.hasError() ? failed(r.getError()) : ItemResult.success(r.getPlaintext().toByteArray()));
    }
    return out;
  }

  /**
   * Decrypts and encrypts again under the latest version on the server (the plaintext never leaves it); returns the
   * new ciphertext. Retried on UNAVAILABLE, as Encrypt.
   */
  public String rewrap(String key, String ciphertext, byte[] context) {
    RewrapRequest built = RewrapRequest.newBuilder().setName(Objects.requireNonNull(key, "key"))
        .addAllItems(decryptItems(List.of(Objects.requireNonNull(ciphertext, "ciphertext")), context)).build();
    return ciphertexts(client.call(stub, true, s -> s.rewrap(built)).getResultsList(), 1).get(0).value();
  }

  private static List<DecryptItem> decryptItems(List<String> ciphertexts, byte[] context) {
    ByteString ctx = bytes(context);
    List<DecryptItem> items = new ArrayList<>(ciphertexts.size());
    for (String ciphertext : ciphertexts) {
      items.add(DecryptItem.newBuilder().setCiphertext(ciphertext).setContext(ctx).build());
    }
    return items;
  }

  private static List<ItemResult<String>> ciphertexts(List<EncryptResult> results, int expected) {
    checkCount(results.size(), expected);
    List<ItemResult<String>> out = new ArrayList<>(results.size());
    for (EncryptResult r : results) {
      out.add(r.hasError() ? failed(r.getError()) : ItemResult.success(r.getCiphertext()));
    }
    return out;
  }

  private static <T> ItemResult<T> failed(ItemError error) {
    return ItemResult.failure(KeywardenClientException.forItem(error.getCode(), error.getMessage()));
  }

  private static void checkCount(int got, int expected) {
    if (got != expected) {
      throw new KeywardenClientException(Status.Code.INTERNAL,
          "the server answered " + got + " results for " + expected + " items");
    }
  }

  private static ByteString bytes(byte[] context) {
    return context == null ? ByteString.EMPTY : ByteString.copyFrom(context);
  }
}
