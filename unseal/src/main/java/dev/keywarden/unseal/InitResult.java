package dev.keywarden.unseal;

import java.util.List;

/** What init hands back once: the N shares and the root token. */
public record InitResult(List<String> shares, int threshold, String rootToken, String kekLabel) {
  @Override
  public String toString() {
    return "InitResult[shares=" + shares.size() + ", threshold=" + threshold + ", kek=" + kekLabel + "]";
  }
}
