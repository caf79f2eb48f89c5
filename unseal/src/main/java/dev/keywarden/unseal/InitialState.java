package dev.keywarden.unseal;

import dev.keywarden.hsm.KeyEncryptionKey;
import dev.keywarden.storage.StorageOps;

/** Writes what a new server starts with (the token key, the root token) in the same transaction as the envelope. */
@FunctionalInterface
public interface InitialState {

  /** Writes the initial state with {@code kek}; returns the root token to show the operator. */
  String write(StorageOps tx, KeyEncryptionKey kek);
}
