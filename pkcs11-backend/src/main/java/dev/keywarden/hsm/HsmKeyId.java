package dev.keywarden.hsm;

import java.util.regex.Pattern;

/**
 * Names a key on a token that is not a KEK (an AES-256 transit key version, or a signing key pair whose halves share
 * the label and id): its CKA_LABEL and CKA_ID (hex). Not secret: it says which key, not what the key is.
 */
public record HsmKeyId(String label, String idHex) {
  /** Compiled once: issuance names its signer's key on every certificate. */
  private static final Pattern ID_HEX = Pattern.compile("[0-9a-f]{2,128}");

  public HsmKeyId {
    if (label == null || label.isBlank()) {
      throw new IllegalArgumentException("key label is empty");
    }
    if (idHex == null || !ID_HEX.matcher(idHex).matches()) {
      throw new IllegalArgumentException("key id must be lowercase hex");
    }
  }
}
