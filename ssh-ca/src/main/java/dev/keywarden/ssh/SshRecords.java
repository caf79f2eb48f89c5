package dev.keywarden.ssh;

import static java.nio.charset.StandardCharsets.UTF_8;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.keywarden.hsm.HsmKeyId;
import dev.keywarden.hsm.KeyType;
import dev.keywarden.storage.StoredJson;
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
  private static final String DEFAULT = "ssh/config/default-";

  private SshRecords() {}

  static String defaultCa(CertType type) {
    return DEFAULT + type.typeName();
  }

  static String revoked(String ca, String caKeyId, String serial) {
    return REVOKED + ca + "/" + caKeyId + "/" + serial;
  }

  static String revokedId(String ca, String keyId) {
    return REVOKED_IDS + ca + "/" + HexFormat.of().formatHex(keyId.getBytes(UTF_8));
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

  /** A stored certificate; times in epoch seconds, revoked_at 0 unless revoked. */
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
      @JsonProperty("revoked_at") long revokedAt) {

    StoredCert {
      principals = principals == null ? List.of() : List.copyOf(principals);
    }

    StoredCert revoked(long at) {
      return new StoredCert(serial, caName, caKeyId, keyId, type, principals, validAfter, validBefore, certificate,
          at);
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
