package dev.keywarden.unseal;

import dev.keywarden.hsm.Hsm;
import dev.keywarden.hsm.KeyEncryptionKey;

/** What an unsealed server holds: the open HSM, the KEK and the working-key cache. Gone on seal. */
public final class Unsealed {
  private final Hsm hsm;
  private final KeyEncryptionKey kek;
  private final WorkingKeys workingKeys;

  Unsealed(Hsm hsm, KeyEncryptionKey kek, WorkingKeys workingKeys) {
    this.hsm = hsm;
    this.kek = kek;
    this.workingKeys = workingKeys;
  }

  /** The open HSM, for engines whose keys live in it. */
  public Hsm hsm() {
    return hsm;
  }

  /** The KEK. */
  public KeyEncryptionKey kek() {
    return kek;
  }

  /** Keys kept outside the HSM, wrapped by the KEK. */
  public WorkingKeys workingKeys() {
    return workingKeys;
  }

  void close() {
    workingKeys.destroyAll();
    hsm.close();
  }
}
