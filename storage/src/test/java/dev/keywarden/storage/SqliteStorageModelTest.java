package dev.keywarden.storage;

import static dev.keywarden.testing.Generators.bytes;
import static dev.keywarden.testing.Generators.stringsOver;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.booleans;
import static org.quicktheories.generators.SourceDSL.lists;
import static org.quicktheories.generators.SourceDSL.longs;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.quicktheories.api.Pair;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.Generate;

/** SqliteStorage must behave exactly like the in-memory model for any sequence of operations. */
class SqliteStorageModelTest {

  private static Path dataDir;
  private static SqliteStorage storage;

  @BeforeAll
  static void open() throws IOException {
    dataDir = Files.createTempDirectory("keywarden-model");
    storage = SqliteStorage.open(dataDir);
  }

  @AfterAll
  static void close() throws IOException {
    storage.close();
    try (Stream<Path> files = Files.walk(dataDir)) {
      for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

  /** Each sequence starts from an empty store. */
  private static void empty() {
    storage.atomically(ops -> {
      ops.list("").forEach(ops::delete);
      return null;
    });
  }

  /** One operation; applied to both stores, it must give the same answer. */
  sealed interface Op {
    Object apply(StorageOps s);
  }

  record Put(String key, byte[] value) implements Op {
    public Object apply(StorageOps s) {
      s.put(key, value);
      return null;
    }

    @Override
    public String toString() {
      return "Put[key=" + key + ", value=0x" + HexFormat.of().formatHex(value) + "]";
    }
  }

  record Cas(String key, long expected, byte[] value) implements Op {
    public Object apply(StorageOps s) {
      return s.compareAndSet(key, expected, value);
    }

    @Override
    public String toString() {
      return "Cas[key=" + key + ", expected=" + expected + ", value=0x" + HexFormat.of().formatHex(value) + "]";
    }
  }

  record Delete(String key) implements Op {
    public Object apply(StorageOps s) {
      return s.delete(key);
    }
  }

  record Get(String key) implements Op {
    public Object apply(StorageOps s) {
      Optional<StoredEntry> e = s.get(key);
      return e.map(x -> x.version() + ":" + HexFormat.of().formatHex(x.value())).orElse("absent");
    }
  }

  record ListPrefix(String prefix) implements Op {
    public Object apply(StorageOps s) {
      return s.list(prefix);
    }
  }

  /** A few ops in one transaction; if {@code fail}, it throws at the end and must leave nothing behind. */
  record Tx(List<Op> ops, boolean fail) implements Op {
    public Object apply(StorageOps s) {
      throw new UnsupportedOperationException("applied by the property");
    }
  }

  private static Gen<String> keys() {
    // a small alphabet so that keys collide, with LIKE wildcards, escapes and characters whose UTF-16 and UTF-8
    // orders differ
    Gen<String> plain = stringsOver("ab%_\\/\u00e9\uE000\uFFFF", 0, 3);
    return Generate.frequency(
        Pair.of(8, plain),
        Pair.of(1, Generate.pick(List.of("\uD83D\uDE00", "a\uD83D\uDE00", "\uD83D\uDE00a", "a\uD83D\uDE00b"))));
  }

  private static Gen<List<Op>> sequences() {
    return lists().of(ops()).ofSizeBetween(0, 40);
  }

  private static Gen<Op> ops() {
    Gen<Op> simple = simpleOps();
    Gen<Op> tx = lists().of(simple).ofSizeBetween(0, 5).zip(booleans().all(), Tx::new);
    return Generate.frequency(
        Pair.of(10, simple),
        Pair.of(2, tx));
  }

  @SuppressWarnings("unchecked")
  private static Gen<Op> simpleOps() {
    Gen<String> key = keys();
    Gen<byte[]> value = bytes(0, 6);
    Gen<Long> version = longs().between(0, 4);
    return Generate.oneOf(
        key.zip(value, Put::new),
        key.zip(version, value, Cas::new),
        key.map(Delete::new),
        key.map(Get::new),
        key.map(ListPrefix::new));
  }

  @Test
  void behavesLikeTheInMemoryModel() {
    qt().withExamples(300).forAll(sequences()).checkAssert(ops -> {
      empty();
      InMemoryStorage model = new InMemoryStorage();
      for (Op op : ops) {
        if (op instanceof Tx tx) {
          Object expected = runTx(model, tx);
          Object actual = runTx(storage, tx);
          assertEquals(expected, actual, "transaction " + tx);
        } else {
          assertEquals(op.apply(model), op.apply(storage), op.toString());
        }
      }
      List<String> keys = model.list("");
      assertEquals(keys, storage.list(""));
      for (String key : keys) {
        StoredEntry expected = model.get(key).orElseThrow();
        StoredEntry actual = storage.get(key).orElseThrow();
        assertEquals(expected.version(), actual.version(), key);
        assertArrayEquals(expected.value(), actual.value(), key);
      }
    });
  }

  private static Object runTx(Storage s, Tx tx) {
    try {
      return s.atomically(ops -> {
        List<Object> results = tx.ops().stream().map(op -> op.apply(ops)).toList();
        if (tx.fail()) {
          throw new IllegalStateException("rolled back");
        }
        return results.toString();
      });
    } catch (IllegalStateException e) {
      return "rolled back";
    }
  }
}
