package dev.keywarden.unseal;

import java.util.List;

/**
 * Where a share ceremony (unseal, rekey, generate-root) stands after a share.
 *
 * @param complete true when K shares were in and the ceremony did its work
 * @param progress distinct shares submitted so far
 * @param required K
 * @param shares the new shares of a completed rekey, else empty
 * @param threshold the new K of a completed rekey, else 0
 * @param rootToken the new root token of a completed generate-root, else empty
 */
public record CeremonyProgress(
    boolean complete, int progress, int required, List<String> shares, int threshold, String rootToken) {

  static CeremonyProgress pending(int progress, int required) {
    return new CeremonyProgress(false, progress, required, List.of(), 0, "");
  }

  @Override
  public String toString() {
    return "CeremonyProgress[complete=" + complete + ", progress=" + progress + "/" + required + "]";
  }
}
