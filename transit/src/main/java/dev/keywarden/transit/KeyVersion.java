package dev.keywarden.transit;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * One version of a keyring as stored: its material wrapped by the KEK, or for {@code -hsm} types the HSM key that
 * holds it; signing keys also keep their public key. Nothing here is secret in the clear.
 *
 * @param encryptionsReserved random-nonce encryptions this version may have done (reserved in blocks before use)
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record KeyVersion(
    @JsonProperty("version") int version,
    @JsonProperty("create_time") long createTime,
    @JsonProperty("wrapped") byte[] wrapped,
    @JsonProperty("hsm_label") String hsmLabel,
    @JsonProperty("hsm_id") String hsmId,
    @JsonProperty("public_key") byte[] publicKey,
    @JsonProperty("encryptions_reserved") long encryptionsReserved) {

  KeyVersion withEncryptionsReserved(long reserved) {
    return new KeyVersion(version, createTime, wrapped, hsmLabel, hsmId, publicKey, reserved);
  }

  @Override
  public String toString() {
    return "KeyVersion[" + version + "]";
  }
}
