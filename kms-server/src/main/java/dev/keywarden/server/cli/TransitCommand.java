package dev.keywarden.server.cli;

import com.google.protobuf.ByteString;
import com.google.protobuf.util.Durations;
import com.google.protobuf.util.Timestamps;
import dev.keywarden.api.v1.*;
import dev.keywarden.server.grpc.ApiEnums;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * `keywarden transit …`: bytes in on standard input (or --in), out on standard output.
 * Its subcommands are listed in {@link CommandTree}.
 */
@Command(name = "transit", description = "Encrypt, decrypt, sign and HMAC with named, versioned keys.")
final class TransitCommand {

  /** The input bytes of a data command: a file given with --in, or standard input. */
  static final class InputData {
    static final String IN = "Read the input from this file instead of standard input.";

    @Option(names = "--in", description = IN)
    Path in;

    byte[] bytes() throws IOException {
      return read(in);
    }

    /** The file's bytes, or standard input's when it is null. */
    static byte[] read(Path in) throws IOException {
      if (in != null) {
        return Files.readAllBytes(in);
      }
      try (InputStream stdin = System.in) {
        return stdin.readAllBytes();
      }
    }
  }

  /** The hash of signatures and HMACs (sign, verify, hmac, verify-hmac). */
  static final class HashOption {
    @Option(names = "--hash", description = "sha2-256 (default), sha2-384, sha2-512.")
    String name = "";

    /** The API's value for the name the user typed; unspecified (the server's default) when none. */
    dev.keywarden.api.v1.HashAlgorithm value() {
      return name.isEmpty() ? dev.keywarden.api.v1.HashAlgorithm.HASH_ALGORITHM_UNSPECIFIED
          : ApiEnums.HASH_ALGORITHM.protoOf(name);
    }
  }

  /** Prints valid/invalid for a verification; exit 0 when valid, 1 when not; an item error fails the command. */
  static int verdict(ClientCommand command, com.google.protobuf.MessageOrBuilder response, VerifyResult result)
      throws Exception {
    if (result.hasError()) {
      failOn(result.getError());
    }
    command.print(response, result.getValid() ? "valid" : "invalid");
    return result.getValid() ? 0 : 1;
  }

  static void failOn(ItemError error) {
    throw io.grpc.Status.fromCode(io.grpc.Status.Code.valueOf(error.getCode()))
        .withDescription(error.getMessage()).asRuntimeException();
  }

  @Command(name = "create-key", description = "Create a key.")
  static final class CreateKey extends ClientCommand {
    @Parameters(paramLabel = "NAME")
    String name;

    @Option(names = "--type", description = "aes256-gcm96 (default), chacha20-poly1305, aes256-gcm96-hsm, ecdsa-p256, "
        + "ecdsa-p384, ed25519, rsa-2048, rsa-3072, rsa-4096, hmac.")
    String type = "";

    @Option(names = "--derived", description = "Derive a key per context (a context is then required).")
    boolean derived;

    @Option(names = "--convergent", description = "Deterministic encryption (needs --derived).")
    boolean convergent;

    @Option(names = "--deletion-allowed", description = "Allow deleting the key.")
    boolean deletionAllowed;

    @Option(names = "--auto-rotate-period", converter = DurationConverter.class, description = "e.g. 720h.")
    Duration autoRotate;

    @Override
    Integer run() throws Exception {
      CreateKeyRequest.Builder b = CreateKeyRequest.newBuilder().setName(name)
          .setKeyType(type.isEmpty() ? TransitKeyType.TRANSIT_KEY_TYPE_UNSPECIFIED
              : ApiEnums.TRANSIT_KEY_TYPE.protoOf(type))
          .setDerived(derived)
          .setConvergent(convergent).setDeletionAllowed(deletionAllowed);
      if (autoRotate != null) {
        b.setAutoRotatePeriod(Durations.fromSeconds(autoRotate.getSeconds()));
      }
      CreateKeyResponse r = transit().createKey(b.build());
      print(r, describe(r.getKey()));
      return 0;
    }
  }

  @Command(name = "key", description = "Describe a key: versions, public keys, config.")
  static final class Key extends ClientCommand {
    @Parameters(paramLabel = "NAME")
    String name;

    @Override
    Integer run() throws Exception {
      GetKeyResponse r = transit().getKey(GetKeyRequest.newBuilder().setName(name).build());
      print(r, describe(r.getKey()));
      return 0;
    }
  }

  @Command(name = "list", description = "List key names, a page at a time.")
  static final class ListKeys extends ClientCommand {
    @Mixin
    PageOptions page;

    @Override
    Integer run() throws Exception {
      ListKeysResponse r = transit().listKeys(ListKeysRequest.newBuilder()
          .setLimit(page.limit).setAfter(page.after).build());
      print(r, pageText(r.getNamesList(), r.getNextAfter()));
      return 0;
    }
  }

  @Command(name = "rotate", description = "Add a new latest version.")
  static final class Rotate extends ClientCommand {
    @Parameters(paramLabel = "NAME")
    String name;

    @Override
    Integer run() throws Exception {
      RotateKeyResponse r = transit().rotateKey(RotateKeyRequest.newBuilder().setName(name).build());
      print(r, "Key '" + name + "' is now at version " + r.getKey().getLatestVersion() + ".");
      return 0;
    }
  }

  @Command(name = "config", description = "Change a key's settings.")
  static final class Config extends ClientCommand {
    @Parameters(paramLabel = "NAME")
    String name;

    @Option(names = "--min-decryption-version")
    Integer minDecryption;

    @Option(names = "--min-encryption-version")
    Integer minEncryption;

    @Option(names = "--deletion-allowed", arity = "0..1", fallbackValue = "true", description = "true or false.")
    Boolean deletionAllowed;

    @Option(names = "--auto-rotate-period", converter = DurationConverter.class, description = "e.g. 720h; 0s: never.")
    Duration autoRotate;

    @Override
    Integer run() throws Exception {
      UpdateKeyConfigRequest.Builder b = UpdateKeyConfigRequest.newBuilder().setName(name);
      if (minDecryption != null) {
        b.setMinDecryptionVersion(minDecryption);
      }
      if (minEncryption != null) {
        b.setMinEncryptionVersion(minEncryption);
      }
      if (deletionAllowed != null) {
        b.setDeletionAllowed(deletionAllowed);
      }
      if (autoRotate != null) {
        b.setAutoRotatePeriod(Durations.fromSeconds(autoRotate.getSeconds()));
      }
      UpdateKeyConfigResponse r = transit().updateKeyConfig(b.build());
      print(r, describe(r.getKey()));
      return 0;
    }
  }

  @Command(name = "trim", description = "Drop versions below min_decryption_version for good.")
  static final class Trim extends ClientCommand {
    @Parameters(paramLabel = "NAME")
    String name;

    @Override
    Integer run() throws Exception {
      TrimKeyResponse r = transit().trimKey(TrimKeyRequest.newBuilder().setName(name).build());
      print(r, "Key '" + name + "' keeps versions " + r.getKey().getOldestVersion() + ".."
          + r.getKey().getLatestVersion() + ".");
      return 0;
    }
  }

  @Command(name = "delete", description = "Delete a key (needs deletion_allowed).")
  static final class Delete extends ClientCommand {
    @Parameters(paramLabel = "NAME")
    String name;

    @Override
    Integer run() throws Exception {
      DeleteKeyResponse r = transit().deleteKey(DeleteKeyRequest.newBuilder().setName(name).build());
      print(r, "Key '" + name + "' deleted.");
      return 0;
    }
  }

  @Command(name = "encrypt", description = "Encrypt standard input (or --in); prints the ciphertext.")
  static final class Encrypt extends ClientCommand {
    @Parameters(paramLabel = "NAME")
    String name;

    // Its own options rather than an InputData mixin: @Mixin would cost every encrypt one more run-time annotation
    // proxy class (see ClientOptions).
    @Option(names = "--in", description = InputData.IN)
    Path in;

    @Option(names = "--context", description = "Associated data (encryption context), as text; must match on decrypt.")
    String context;

    @Override
    Integer run() throws Exception {
      EncryptResponse r = transit().encrypt(EncryptRequest.newBuilder().setName(name).addItems(EncryptItem
          .newBuilder().setPlaintext(ByteString.copyFrom(InputData.read(in)))
          .setContext(context == null ? ByteString.EMPTY : ByteString.copyFromUtf8(context))).build());
      if (r.getResults(0).hasError()) {
        failOn(r.getResults(0).getError());
      }
      print(r, r.getResults(0).getCiphertext());
      return 0;
    }
  }

  /** A ciphertext to work on: key name, ciphertext and its context. */
  static final class CiphertextArgs {
    @Parameters(index = "0", paramLabel = "NAME")
    String name;

    @Parameters(index = "1", paramLabel = "CIPHERTEXT")
    String ciphertext;

    @Option(names = "--context", description = "The context given at encryption.")
    String context;

    DecryptItem item() {
      return DecryptItem.newBuilder().setCiphertext(ciphertext)
          .setContext(context == null ? ByteString.EMPTY : ByteString.copyFromUtf8(context)).build();
    }
  }

  @Command(name = "decrypt", description = "Decrypt CIPHERTEXT; writes the plaintext bytes to standard output.")
  static final class Decrypt extends ClientCommand {
    @picocli.CommandLine.Mixin
    CiphertextArgs args;

    @Override
    Integer run() throws Exception {
      DecryptResponse r = transit().decrypt(DecryptRequest.newBuilder().setName(args.name).addItems(args.item())
          .build());
      if (r.getResults(0).hasError()) {
        failOn(r.getResults(0).getError());
      }
      if (json()) {
        printJson(r);
      } else {
        System.out.write(r.getResults(0).getPlaintext().toByteArray());
        System.out.flush();
      }
      return 0;
    }
  }

  @Command(name = "rewrap", description = "Re-encrypt CIPHERTEXT under the latest version; prints the new ciphertext.")
  static final class Rewrap extends ClientCommand {
    @picocli.CommandLine.Mixin
    CiphertextArgs args;

    @Override
    Integer run() throws Exception {
      RewrapResponse r = transit().rewrap(RewrapRequest.newBuilder().setName(args.name).addItems(args.item())
          .build());
      if (r.getResults(0).hasError()) {
        failOn(r.getResults(0).getError());
      }
      print(r, r.getResults(0).getCiphertext());
      return 0;
    }
  }

  @Command(name = "datakey", description = "Make a data key: prints its plaintext (base64) and ciphertext.")
  static final class DataKey extends ClientCommand {
    @Parameters(paramLabel = "NAME")
    String name;

    @Option(names = "--bits", description = "128, 256 (default) or 512.")
    int bits = 256;

    @Option(names = "--wrapped-only", description = "Only the ciphertext.")
    boolean wrappedOnly;

    @Option(names = "--context", description = "Context for the wrapping.")
    String context;

    @Override
    Integer run() throws Exception {
      GenerateDataKeyResponse r = transit().generateDataKey(GenerateDataKeyRequest.newBuilder().setName(name)
          .setBits(bits).setWrappedOnly(wrappedOnly)
          .setContext(context == null ? ByteString.EMPTY : ByteString.copyFromUtf8(context)).build());
      print(r, (wrappedOnly ? "" : "Plaintext:  " + java.util.Base64.getEncoder()
          .encodeToString(r.getPlaintext().toByteArray()) + "\n") + "Ciphertext: " + r.getCiphertext());
      return 0;
    }
  }

  /** Signature options shared by sign and verify. */
  static final class SignOptions {
    @picocli.CommandLine.Mixin
    HashOption hash;

    @Option(names = "--prehashed", description = "The input is already the digest.")
    boolean prehashed;

    @Option(names = "--rsa-padding", description = "pss (default) or pkcs1v15.")
    String rsaPadding = "";

    @Option(names = "--encoding", description = "ECDSA signature encoding: der (default) or jws.")
    String encoding = "";

    SignatureParams params() {
      SignatureParams.Builder b = SignatureParams.newBuilder().setHashAlgorithm(hash.value()).setPrehashed(prehashed);
      if (!rsaPadding.isEmpty()) {
        b.setPadding(ApiEnums.RSA_PADDING.protoOf(rsaPadding));
      }
      if (!encoding.isEmpty()) {
        b.setEncoding(ApiEnums.SIGNATURE_ENCODING.protoOf(encoding));
      }
      return b.build();
    }
  }

  @Command(name = "sign", description = "Sign standard input (or --in); prints the signature.")
  static final class Sign extends ClientCommand {
    @Parameters(paramLabel = "NAME")
    String name;

    @picocli.CommandLine.Mixin
    InputData input;

    @picocli.CommandLine.Mixin
    SignOptions options;

    @Override
    Integer run() throws Exception {
      byte[] data = input.bytes();
      SignResponse r = transit().sign(SignRequest.newBuilder().setName(name).setParams(options.params())
          .addItems(SignItem.newBuilder().setInput(ByteString.copyFrom(data))).build());
      if (r.getResults(0).hasError()) {
        failOn(r.getResults(0).getError());
      }
      print(r, r.getResults(0).getSignature());
      return 0;
    }
  }

  @Command(name = "verify", description = "Verify SIGNATURE over standard input (or --in). Exit 0 valid, 1 invalid.")
  static final class Verify extends ClientCommand {
    @Parameters(index = "0", paramLabel = "NAME")
    String name;

    @Parameters(index = "1", paramLabel = "SIGNATURE")
    String signature;

    @picocli.CommandLine.Mixin
    InputData input;

    @picocli.CommandLine.Mixin
    SignOptions options;

    @Override
    Integer run() throws Exception {
      byte[] data = input.bytes();
      VerifyResponse r = transit().verify(VerifyRequest.newBuilder().setName(name).setParams(options.params())
          .addItems(VerifyItem.newBuilder().setInput(ByteString.copyFrom(data)).setSignature(signature)).build());
      return verdict(this, r, r.getResults(0));
    }
  }

  @Command(name = "hmac", description = "HMAC standard input (or --in) with an hmac key; prints the HMAC.")
  static final class Hmac extends ClientCommand {
    @Parameters(paramLabel = "NAME")
    String name;

    @picocli.CommandLine.Mixin
    InputData input;

    @picocli.CommandLine.Mixin
    HashOption hash;

    @Override
    Integer run() throws Exception {
      byte[] data = input.bytes();
      HmacResponse r = transit().hmac(HmacRequest.newBuilder().setName(name).setHashAlgorithm(hash.value())
          .addItems(SignItem.newBuilder().setInput(ByteString.copyFrom(data))).build());
      if (r.getResults(0).hasError()) {
        failOn(r.getResults(0).getError());
      }
      print(r, r.getResults(0).getSignature());
      return 0;
    }
  }

  @Command(name = "verify-hmac", description = "Check HMAC over standard input (or --in). Exit 0 valid, 1 invalid.")
  static final class VerifyHmac extends ClientCommand {
    @Parameters(index = "0", paramLabel = "NAME")
    String name;

    @Parameters(index = "1", paramLabel = "HMAC")
    String mac;

    @picocli.CommandLine.Mixin
    InputData input;

    @picocli.CommandLine.Mixin
    HashOption hash;

    @Override
    Integer run() throws Exception {
      byte[] data = input.bytes();
      VerifyHmacResponse r = transit().verifyHmac(VerifyHmacRequest.newBuilder().setName(name)
          .setHashAlgorithm(hash.value())
          .addItems(VerifyItem.newBuilder().setInput(ByteString.copyFrom(data)).setSignature(mac)).build());
      return verdict(this, r, r.getResults(0));
    }
  }

  @SuppressWarnings("deprecation") // type: what a 0.1 server sends
  static String describe(KeyInfo k) {
    StringBuilder b = new StringBuilder()
        .append("Name:                   ").append(k.getName()).append('\n')
        .append("Type:                   ").append(k.getKeyTypeValue() == 0 ? k.getType()
            : ApiEnums.TRANSIT_KEY_TYPE.nameOf(k.getKeyType(), "key_type")).append('\n')
        .append("Latest version:         ").append(k.getLatestVersion()).append('\n')
        .append("Oldest version:         ").append(k.getOldestVersion()).append('\n')
        .append("Min decryption version: ").append(k.getMinDecryptionVersion()).append('\n')
        .append("Min encryption version: ").append(k.getMinEncryptionVersion()).append('\n')
        .append("Derived / convergent:   ").append(k.getDerived()).append(" / ").append(k.getConvergent()).append('\n')
        .append("Deletion allowed:       ").append(k.getDeletionAllowed()).append('\n')
        .append("Auto-rotate period:     ").append(Durations.toString(k.getAutoRotatePeriod()));
    for (KeyVersionInfo v : k.getVersionsList()) {
      b.append("\nVersion ").append(v.getVersion()).append(": created ").append(Timestamps.toString(v.getCreateTime()));
      if (!v.getPublicKeyPem().isEmpty()) {
        b.append('\n').append(v.getPublicKeyPem().strip());
      }
    }
    return b.toString();
  }

}
