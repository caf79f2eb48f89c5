package dev.keywarden.transit.crypto;

import dev.keywarden.failure.Inputs;
import dev.keywarden.failure.KeywardenException;
import java.util.Arrays;
import java.util.stream.Collectors;

/** The digests offered for signing and HMAC, by the name users type. */
public enum HashAlgorithm {
  SHA2_256("sha2-256", "SHA-256", "SHA256", 32,
      new byte[] {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, (byte) 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
          0x00, 0x04, 0x20}),
  SHA2_384("sha2-384", "SHA-384", "SHA384", 48,
      new byte[] {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, (byte) 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05,
          0x00, 0x04, 0x30}),
  SHA2_512("sha2-512", "SHA-512", "SHA512", 64,
      new byte[] {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, (byte) 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05,
          0x00, 0x04, 0x40});

  private final String wireName;
  private final String jcaName;
  private final String jcaPrefix;
  private final int length;
  private final byte[] digestInfoPrefix;

  HashAlgorithm(String wireName, String jcaName, String jcaPrefix, int length, byte[] digestInfoPrefix) {
    this.wireName = wireName;
    this.jcaName = jcaName;
    this.jcaPrefix = jcaPrefix;
    this.length = length;
    this.digestInfoPrefix = digestInfoPrefix;
  }

  /** The name users type, e.g. "sha2-256". */
  public String wireName() {
    return wireName;
  }

  /** Digest length in bytes. */
  public int length() {
    return length;
  }

  /** Parses a hash name; INVALID_ARGUMENT lists the known ones. */
  public static HashAlgorithm parse(String name) {
    for (HashAlgorithm h : values()) {
      if (h.wireName.equals(name)) {
        return h;
      }
    }
    throw KeywardenException.invalid("unknown hash algorithm '" + Inputs.quoted(name) + "'; known: "
        + Arrays.stream(values()).map(HashAlgorithm::wireName).collect(Collectors.joining(", ")));
  }

  /** JCA digest name, e.g. "SHA-256". */
  String jcaName() {
    return jcaName;
  }

  /** JCA signature-name prefix, e.g. "SHA256" as in "SHA256withECDSA". */
  String jcaPrefix() {
    return jcaPrefix;
  }

  /** JCA HMAC name, e.g. "HmacSHA256". */
  String hmacName() {
    return "Hmac" + jcaPrefix;
  }

  /** DER DigestInfo header that precedes the digest in a PKCS#1 v1.5 signature (RFC 8017, 9.2 note 1). */
  byte[] digestInfoPrefix() {
    return digestInfoPrefix.clone();
  }
}
