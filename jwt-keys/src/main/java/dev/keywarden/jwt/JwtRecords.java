package dev.keywarden.jwt;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.keywarden.hsm.HsmKeyId;
import dev.keywarden.storage.StoredEntry;
import dev.keywarden.storage.StoredJson;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.UnaryOperator;

/**
 * The JWT engine's storage: its prefixes and record types. Keys live under {@code jwt/keys/NAME} (settings and every
 * version in one record, changed only by compare-and-set), roles under {@code jwt/roles/NAME}. Records are read with
 * {@link StoredJson} (unknown fields ignored, for rolling upgrades). Times are epoch seconds; 0 means "not yet".
 */
final class JwtRecords {
  static final String KEYS = "jwt/keys/";
  static final String ROLES = "jwt/roles/";

  private JwtRecords() {}

  /**
   * A key and its versions.
   *
   * @param rotationPeriod seconds; 0 for no scheduled rotation
   * @param nextVersion the number the next version gets (numbers are for people; the kid is the thumbprint)
   */
  record StoredKey(
      @JsonProperty("name") String name,
      @JsonProperty("algorithm") JwtAlgorithm algorithm,
      @JsonProperty("rsa_bits") int rsaBits,
      @JsonProperty("software") boolean software,
      @JsonProperty("issuer") String issuer,
      @JsonProperty("publish_ahead") long publishAhead,
      @JsonProperty("rotation_period") long rotationPeriod,
      @JsonProperty("max_token_ttl") long maxTokenTtl,
      @JsonProperty("skew") long skew,
      @JsonProperty("created_at") long createdAt,
      @JsonProperty("next_version") int nextVersion,
      @JsonProperty("versions") List<StoredVersion> versions) {

    StoredKey {
      versions = versions == null ? List.of() : List.copyOf(versions);
    }

    static StoredKey of(JwtKeySettings s, long now) {
      return new StoredKey(s.name(), s.algorithm(), s.rsaBits(), s.software(), s.issuer(),
          s.publishAhead().getSeconds(), s.rotationPeriod().map(Duration::getSeconds).orElse(0L),
          s.maxTokenTtl().getSeconds(), s.skew().getSeconds(), now, 1, List.of());
    }

    JwtKeySettings settings() {
      return new JwtKeySettings(name, algorithm, rsaBits, software, issuer, Duration.ofSeconds(publishAhead),
          rotationPeriod == 0 ? Optional.empty() : Optional.of(Duration.ofSeconds(rotationPeriod)),
          Duration.ofSeconds(maxTokenTtl), Duration.ofSeconds(skew));
    }

    StoredKey withSettings(JwtKeySettings s) {
      return new StoredKey(name, algorithm, rsaBits, software, s.issuer(), s.publishAhead().getSeconds(),
          s.rotationPeriod().map(Duration::getSeconds).orElse(0L), s.maxTokenTtl().getSeconds(),
          s.skew().getSeconds(), createdAt, nextVersion, versions);
    }

    /** This key with {@code v} added as version {@code nextVersion}. */
    StoredKey withNewVersion(StoredVersion v) {
      List<StoredVersion> all = new ArrayList<>(versions);
      all.add(v);
      return new StoredKey(name, algorithm, rsaBits, software, issuer, publishAhead, rotationPeriod, maxTokenTtl,
          skew, createdAt, nextVersion + 1, all);
    }

    /** This key with version {@code number} replaced by what {@code change} makes of it. */
    StoredKey withVersion(int number, UnaryOperator<StoredVersion> change) {
      List<StoredVersion> all = new ArrayList<>(versions.size());
      for (StoredVersion v : versions) {
        all.add(v.version() == number ? change.apply(v) : v);
      }
      return new StoredKey(name, algorithm, rsaBits, software, issuer, publishAhead, rotationPeriod, maxTokenTtl,
          skew, createdAt, nextVersion, all);
    }

    Optional<StoredVersion> version(int number) {
      return versions.stream().filter(v -> v.version() == number).findFirst();
    }

    Optional<StoredVersion> byKid(String kid) {
      return versions.stream().filter(v -> v.kid().equals(kid)).findFirst();
    }
  }

  /**
   * One version of a key. Its state at any instant follows from these times alone ({@link Timeline}), so a missed
   * lifecycle tick changes nothing about what signs or is published.
   *
   * @param kid the RFC 7638 thumbprint (SHA-256) of its public JWK
   * @param activateAt when it starts signing (unless revoked before)
   * @param hsmLabel its HSM key pair's label; null for a software key
   * @param hsmId its HSM key pair's CKA_ID (hex); null for a software key
   * @param wrappedKey its PKCS#8 private key wrapped by the KEK; null for an HSM key and once destroyed
   * @param publicJwk its public JWK (JSON with kid, alg and use); null once destroyed
   * @param signedUntil the latest exp of a token it signed, rounded up; 0 if it signed none
   * @param retiredAt when it was taken out of the JWKS for good (tick, tidy or revocation); from then on nothing
   *     signed with it is handed out
   * @param revokedAt when it was revoked as compromised
   * @param destroyedAt when tidy destroyed its private key
   * @param recordedState its state as the last tick saw it (for reporting changes only; never read to decide)
   */
  record StoredVersion(
      @JsonProperty("version") int version,
      @JsonProperty("kid") String kid,
      @JsonProperty("created_at") long createdAt,
      @JsonProperty("activate_at") long activateAt,
      @JsonProperty("hsm_label") String hsmLabel,
      @JsonProperty("hsm_id") String hsmId,
      @JsonProperty("wrapped_key") byte[] wrappedKey,
      @JsonProperty("public_jwk") String publicJwk,
      @JsonProperty("signed_until") long signedUntil,
      @JsonProperty("retired_at") long retiredAt,
      @JsonProperty("revoked_at") long revokedAt,
      @JsonProperty("destroyed_at") long destroyedAt,
      @JsonProperty("recorded_state") JwtVersionState recordedState) {

    boolean software() {
      return hsmLabel == null;
    }

    HsmKeyId hsmKey() {
      return new HsmKeyId(hsmLabel, hsmId);
    }

    StoredVersion withActivateAt(long at) {
      return new StoredVersion(version, kid, createdAt, at, hsmLabel, hsmId, wrappedKey, publicJwk, signedUntil,
          retiredAt, revokedAt, destroyedAt, recordedState);
    }

    StoredVersion withSignedUntil(long until) {
      return new StoredVersion(version, kid, createdAt, activateAt, hsmLabel, hsmId, wrappedKey, publicJwk, until,
          retiredAt, revokedAt, destroyedAt, recordedState);
    }

    StoredVersion retired(long at) {
      return new StoredVersion(version, kid, createdAt, activateAt, hsmLabel, hsmId, wrappedKey, publicJwk,
          signedUntil, retiredAt == 0 ? at : retiredAt, revokedAt, destroyedAt, recordedState);
    }

    StoredVersion revoked(long at) {
      return new StoredVersion(version, kid, createdAt, activateAt, hsmLabel, hsmId, wrappedKey, publicJwk,
          signedUntil, retiredAt == 0 ? at : retiredAt, at, destroyedAt, recordedState);
    }

    /** Destroyed: the private key (wrapped or in the HSM) and the public JWK are gone; the facts stay. */
    StoredVersion destroyed(long at) {
      return new StoredVersion(version, kid, createdAt, activateAt, hsmLabel, hsmId, null, null, signedUntil,
          retiredAt == 0 ? at : retiredAt, revokedAt, at, JwtVersionState.DESTROYED);
    }

    StoredVersion withRecordedState(JwtVersionState s) {
      return new StoredVersion(version, kid, createdAt, activateAt, hsmLabel, hsmId, wrappedKey, publicJwk,
          signedUntil, retiredAt, revokedAt, destroyedAt, s);
    }

    @Override
    public String toString() {
      return "StoredVersion[" + version + ", kid " + kid + ", activate_at " + Instant.ofEpochSecond(activateAt)
          + (software() ? ", software" : ", hsm " + hsmLabel) + "]";
    }
  }

  static StoredKey readKey(StoredEntry e) {
    return StoredJson.read(e.value(), StoredKey.class);
  }

  static byte[] write(Object record) {
    return StoredJson.write(record);
  }
}
