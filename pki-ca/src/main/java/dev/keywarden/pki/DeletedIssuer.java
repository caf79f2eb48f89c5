package dev.keywarden.pki;

import java.util.Objects;
import java.util.Optional;

/**
 * What deleting a pending issuer did. The record is always gone; the key pair normally is too.
 *
 * @param id the deleted issuer
 * @param replaces when it was a rotation's successor: the issuer it was to replace, which stays active and can be
 *     rotated again
 * @param keyDestroyed whether this call destroyed its key pair in the HSM
 * @param keyNote when not: why, and the key's label, so an operator can remove it from the token by hand
 */
public record DeletedIssuer(String id, Optional<String> replaces, boolean keyDestroyed, Optional<String> keyNote) {
  public DeletedIssuer {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(replaces, "replaces");
    Objects.requireNonNull(keyNote, "keyNote");
    if (keyDestroyed == keyNote.isPresent()) {
      throw new IllegalArgumentException("a note says why the key was not destroyed, and only then");
    }
  }
}
