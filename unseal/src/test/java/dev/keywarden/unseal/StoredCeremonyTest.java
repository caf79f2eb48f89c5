package dev.keywarden.unseal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.storage.SqliteStorage;
import dev.keywarden.storage.Storage;
import dev.keywarden.storage.StoredJson;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Cancelling a stored ceremony while other servers write it: it removes the one it read, and only that one. */
class StoredCeremonyTest {
  @TempDir
  Path dir;

  private Storage storage;

  @BeforeEach
  void open() {
    storage = SqliteStorage.open(dir);
  }

  @AfterEach
  void close() {
    storage.close();
  }

  private static byte[] record(String nonce, int shares) {
    List<StoredCeremony.WrappedShare> submitted = shares == 0 ? List.of()
        : List.of(new StoredCeremony.WrappedShare(1, "d3JhcHBlZA=="));
    return StoredJson.write(new StoredCeremony.Record(nonce, 7, 2, 3, 2, Instant.now().toString(), submitted));
  }

  /** The storage, except that just before the first write (of any kind) another server writes {@code raced}. */
  private Storage racing(byte[] raced) {
    boolean[] done = {false};
    String key = StoredCeremony.Kind.REKEY.key();
    InvocationHandler h = (proxy, method, args) -> {
      if (List.of("atomically", "delete", "compareAndSet", "put").contains(method.getName()) && !done[0]) {
        done[0] = true;
        storage.put(key, raced);
      }
      try {
        return method.invoke(storage, args);
      } catch (InvocationTargetException e) {
        throw e.getCause();
      }
    };
    return (Storage) Proxy.newProxyInstance(Storage.class.getClassLoader(), new Class<?>[] {Storage.class}, h);
  }

  @Test
  void aShareAddedWhileCancellingDoesNotSaveTheCeremony() {
    storage.put(StoredCeremony.Kind.REKEY.key(), record("n1", 0));
    new StoredCeremony(racing(record("n1", 1)), StoredCeremony.Kind.REKEY).cancel();
    assertTrue(storage.get(StoredCeremony.Kind.REKEY.key()).isEmpty());
  }

  @Test
  void aCeremonyStartedAnewWhileCancellingIsNotCancelled() {
    storage.put(StoredCeremony.Kind.REKEY.key(), record("n1", 0));
    KeywardenException e = assertThrows(KeywardenException.class,
        () -> new StoredCeremony(racing(record("n2", 0)), StoredCeremony.Kind.REKEY).cancel());
    assertEquals(KeywardenException.Kind.FAILED_PRECONDITION, e.kind());
    assertTrue(e.getMessage().contains("n2"), e.getMessage());
    assertEquals("n2", new StoredCeremony(storage, StoredCeremony.Kind.REKEY).current().orElseThrow().nonce());
  }

  @Test
  void cancellingNothingIsAPrecondition() {
    KeywardenException e = assertThrows(KeywardenException.class,
        () -> new StoredCeremony(storage, StoredCeremony.Kind.REKEY).cancel());
    assertEquals(KeywardenException.Kind.FAILED_PRECONDITION, e.kind());
  }
}
