package dev.keywarden.ssh;

import static java.nio.charset.StandardCharsets.UTF_8;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.keywarden.hsm.HsmKeyId;
import dev.keywarden.hsm.KeyType;
import dev.keywarden.storage.StoredJson;
import dev.keywarden.storage.TimeKeys;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * The SSH CA's storage: its prefixes and record types, all JSON (unknown fields ignored, for rolling upgrades).
 *
 * <pre>
 * ssh/cas/NAME                     a CA and its keys, newest (the signer) first
 * ssh/config/default-user|host     the name of the default CA for that certificate type
 * ssh/roles/NAME                   a role (SshRole JSON)
 * ssh/certs/SERIAL                 a stored certificate (decimal serial)
 * ssh/certs-by-key-id/CA/HEX/SERIAL  the index of stored certificates by CA and key id (HEX: the key id's UTF-8 in
 *                                  hex, so no key id reaches into another's range); empty value, written and
 *                                  removed in the same transaction as the certificate
 * ssh/config/certs-by-key-id-indexed  set once the certificates stored before that index have been put into it
 *                                  (written with ssh/config/certs-indexed, for servers of the version before it)
 * ssh/expiry/certs/TIME/CA/CAKEYID/SERIAL  the expiry index of stored certificates (TIME: valid_before, epoch seconds
 *                                  in 20 digits, so key order is expiry order); empty value, written and removed in
 *                                  the same transaction as the certificate. It also names the certificate's
 *                                  revocation (ssh/revoked/CA/CAKEYID/SERIAL), which expires with it
 * ssh/expiry/revoked-ids/TIME/CA/HEX  the expiry index of revoked key ids (TIME: until, as above); moved in the same
 *                                  transaction as the record's until
 * ssh/config/certs-indexed         set once the certificates, revocations and revoked key ids stored before the
 *                                  expiry index (and certificates before the key id index) have been put into them
 * ssh/revoked/CA/KEYID/SERIAL      a revoked serial, kept until the certificate expires
 * ssh/revoked-ids/CA/HEX           a revoked key id (HEX: its UTF-8 in hex), kept until what the CA signed expires
 * ssh/krl/CA                       the CA's KRL version, bumped by every change to what it revokes or publishes
 * </pre>
 */
final class SshRecords {
  static final String CAS = "ssh/cas/";
  static final String ROLES = "ssh/roles/";
  static final String CERTS = "ssh/certs/";
  static final String REVOKED = "ssh/revoked/";
  static final String REVOKED_IDS = "ssh/revoked-ids/";
  static final String KRL = "ssh/krl/";
  static final String BY_KEY_ID = "ssh/certs-by-key-id/";
  static final String BY_KEY_ID_INDEXED = "ssh/config/certs-by-key-id-indexed";
  static final String EXPIRY = "ssh/expiry/";
  static final String CERT_EXPIRY = EXPIRY + "certs/";
  static final String REVOKED_ID_EXPIRY = EXPIRY + "revoked-ids/";
  static final String INDEXED = "ssh/config/certs-indexed";
  /** Digits of TIME in the expiry index: any non-negative long (and any unsigned one) fits. */
  private static final int TIME_DIGITS = 20;
  private static final String DEFAULT = "ssh/config/default-";

  private SshRecords() {}

  static String defaultCa(CertType type) {
    return DEFAULT + type.typeName();
  }

  static String revoked(String ca, String caKeyId, String serial) {
    return REVOKED + ca + "/" + caKeyId + "/" + serial;
  }

  static String revokedId(String ca, String keyId) {
    return REVOKED_IDS + ca + "/" + hex(keyId);
  }

  /**
   * The range of {@link #BY_KEY_ID} entries of CA {@code ca} with key id {@code keyId}. CA names hold no '/' and hex
   * holds no '/', so the range holds exactly that CA's certificates with exactly that key id (not those with a key id
   * it is a prefix of, nor those whose key id has a '/' in it).
   */
  static String byKeyId(String ca, String keyId) {
    return BY_KEY_ID + ca + "/" + hex(keyId) + "/";
  }

  /** The {@link #BY_KEY_ID} entry of certificate {@code c}. */
  static String byKeyId(StoredCert c) {
    return byKeyId(c.caName(), c.keyId()) + c.serial();
  }

  /** The {@link #CERT_EXPIRY} entry of certificate {@code c}. */
  static String certExpiry(StoredCert c) {
    return certExpiry(c.validBefore(), c.caName(), c.caKeyId(), c.serial());
  }

  /** The {@link #CERT_EXPIRY} entry of a revocation: the same as its certificate's. */
  static String certExpiry(Revocation r) {
    return certExpiry(r.validBefore(), r.caName(), r.caKeyId(), r.serial());
  }

  private static String certExpiry(long validBefore, String ca, String caKeyId, String serial) {
    return time(CERT_EXPIRY, validBefore).append('/').append(ca).append('/').append(caKeyId).append('/')
        .append(serial).toString();
  }

  /** The {@link #REVOKED_ID_EXPIRY} entry of revoked key id {@code r}. */
  static String revokedIdExpiry(RevokedKeyId r) {
    return time(REVOKED_ID_EXPIRY, r.until()).append('/').append(r.caName()).append('/').append(hex(r.keyId()))
        .toString();
  }

  /** The time of an expiry index entry under {@code prefix} (epoch seconds). */
  static long expiryTime(String prefix, String entry) {
    return TimeKeys.seconds(prefix, entry);
  }

  /** What follows TIME in an expiry index entry under {@code prefix}, split at '/'. */
  static String[] expiryNames(String prefix, String entry) {
    return entry.substring(prefix.length() + TIME_DIGITS + 1).split("/", -1);
  }

  private static StringBuilder time(String prefix, long seconds) {
    return TimeKeys.start(prefix, seconds, TIME_DIGITS);
  }


  /** A key id as it goes in a storage key: its UTF-8 in lower-case hex. */
  private static String hex(String keyId) {
    return HexFormat.of().formatHex(keyId.getBytes(UTF_8));
  }

  /** A CA key. Times are epoch seconds; retired_at and signed_until are 0 when unset. */
  record StoredCaKey(
      @JsonProperty("id") String id,
      @JsonProperty("hsm_label") String hsmLabel,
      @JsonProperty("hsm_id") String hsmId,
      @JsonProperty("key_type") KeyType keyType,
      @JsonProperty("public_key") String publicKey,
      @JsonProperty("created") long created,
      @JsonProperty("retired_at") long retiredAt,
      @JsonProperty("signed_until") long signedUntil) {

    HsmKeyId hsmKeyId() {
      return new HsmKeyId(hsmLabel, hsmId);
    }

    /** Published: the signer, or a retired key while certificates it signed may still be valid. */
    boolean publishedAt(long now) {
      return retiredAt == 0 || signedUntil >= now;
    }

    StoredCaKey retired(long at) {
      return new StoredCaKey(id, hsmLabel, hsmId, keyType, publicKey, created, at, signedUntil);
    }

    StoredCaKey signedUntil(long until) {
      return new StoredCaKey(id, hsmLabel, hsmId, keyType, publicKey, created, retiredAt, until);
    }
  }

  /** A CA: its keys, newest first; the first one signs. */
  record StoredCa(@JsonProperty("name") String name, @JsonProperty("keys") List<StoredCaKey> keys) {
    StoredCa {
      keys = keys == null ? List.of() : List.copyOf(keys);
    }

    StoredCaKey signer() {
      return keys.get(0);
    }

    StoredCa withKeys(List<StoredCaKey> newKeys) {
      return new StoredCa(name, newKeys);
    }

    StoredCa replace(StoredCaKey key) {
      List<StoredCaKey> out = new ArrayList<>();
      for (StoredCaKey k : keys) {
        out.add(k.id().equals(key.id()) ? key : k);
      }
      return withKeys(out);
    }

    StoredCaKey key(String id) {
      return keys.stream().filter(k -> k.id().equals(id)).findFirst().orElse(null);
    }
  }

  /**
   * A stored certificate; times in epoch seconds, revoked_at 0 unless revoked. key_id_indexed is true when its
   * {@link #BY_KEY_ID} entry was written with it, expiry_indexed when both its {@link #BY_KEY_ID} and its
   * {@link #CERT_EXPIRY} entries were; a server from before an index leaves its flag out (also when it rewrites a
   * record to mark it revoked), and then the entry may or may not be there.
   */
  record StoredCert(
      @JsonProperty("serial") String serial,
      @JsonProperty("ca") String caName,
      @JsonProperty("ca_key_id") String caKeyId,
      @JsonProperty("key_id") String keyId,
      @JsonProperty("type") CertType type,
      @JsonProperty("principals") List<String> principals,
      @JsonProperty("valid_after") long validAfter,
      @JsonProperty("valid_before") long validBefore,
      @JsonProperty("certificate") String certificate,
      @JsonProperty("revoked_at") long revokedAt,
      @JsonProperty("key_id_indexed") boolean keyIdIndexed,
      @JsonProperty("expiry_indexed") boolean expiryIndexed) {

    StoredCert {
      principals = principals == null ? List.of() : List.copyOf(principals);
    }

    StoredCert revoked(long at) {
      return new StoredCert(serial, caName, caKeyId, keyId, type, principals, validAfter, validBefore, certificate,
          at, keyIdIndexed, expiryIndexed);
    }

    /** This record with both its index entries written. */
    StoredCert indexed() {
      return new StoredCert(serial, caName, caKeyId, keyId, type, principals, validAfter, validBefore, certificate,
          revokedAt, true, true);
    }

    SshCertificateRecord view() {
      return new SshCertificateRecord(serial, caName, caKeyId, keyId, type, principals,
          Instant.ofEpochSecond(validAfter), Instant.ofEpochSecond(validBefore), certificate,
          revokedAt == 0 ? null : Instant.ofEpochSecond(revokedAt));
    }
  }

  /** A revoked serial: in the KRL until {@code validBefore}. */
  record Revocation(
      @JsonProperty("serial") String serial,
      @JsonProperty("ca") String caName,
      @JsonProperty("ca_key_id") String caKeyId,
      @JsonProperty("valid_before") long validBefore,
      @JsonProperty("revoked_at") long revokedAt) {}

  /** A revoked key id: in the KRL (for every key of the CA) until {@code until}. */
  record RevokedKeyId(
      @JsonProperty("ca") String caName,
      @JsonProperty("key_id") String keyId,
      @JsonProperty("until") long until,
      @JsonProperty("revoked_at") long revokedAt) {}

  /** The KRL version of a CA. */
  record KrlVersion(@JsonProperty("version") long version) {}

  static byte[] json(Object value) {
    return StoredJson.write(value);
  }

  static <T> T read(byte[] bytes, Class<T> type) {
    return StoredJson.read(bytes, type);
  }
}
