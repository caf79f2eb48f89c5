package dev.keywarden.hsm;

/**
 * Names a KEK on a token: its CKA_LABEL and CKA_ID (hex). Not secret: it says which key, not what the key is.
 */
public record KekIdentity(String label, String idHex) {
  public KekIdentity {
    if (label == null || label.isBlank()) {
      throw new IllegalArgumentException("KEK label is empty");
    }
    if (idHex == null || !idHex.matches("[0-9a-f]{2,128}")) {
      throw new IllegalArgumentException("KEK id must be lowercase hex");
    }
  }
}
