package dev.keywarden.hsm;

/**
 * Names a key on a token that is not a KEK (an AES-256 transit key version, or a signing key pair whose halves share
 * the label and id): its CKA_LABEL and CKA_ID (hex). Not secret: it says which key, not what the key is.
 */
public record HsmKeyId(String label, String idHex) {
  public HsmKeyId {
    if (label == null || label.isBlank()) {
      throw new IllegalArgumentException("key label is empty");
    }
    if (idHex == null || !idHex.matches("[0-9a-f]{2,128}")) {
      throw new IllegalArgumentException("key id must be lowercase hex");
    }
  }
}
