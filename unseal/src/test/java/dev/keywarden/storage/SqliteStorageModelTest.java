package dev.keywarden.storage;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;
import net.jqwik.api.lifecycle.BeforeTry;

/** SqliteStorage must behave exactly like the in-memory model for any sequence of operations. */
class SqliteStorageModelTest {

  private static Path dataDir;
  private static SqliteStorage storage;

  @BeforeContainer
  static void open() throws IOException {
    dataDir = Files.createTempDirectory("keywarden-model");
    storage = SqliteStorage.open(dataDir);
  }

  @AfterContainer
  static void close() throws IOException {
    storage.close();
    try (Stream<Path> files = Files.walk(dataDir)) {
      for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

  @BeforeTry
  void empty() {
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
  }

  record Cas(String key, long expected, byte[] value) implements Op {
    public Object apply(StorageOps s) {
      return s.compareAndSet(key, expected, value);
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
      return e.map(x -> x.version() + ":" + java.util.HexFormat.of().formatHex(x.value())).orElse("absent");
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

  private Arbitrary<String> keys() {
    // a small alphabet so that keys collide, with LIKE wildcards, escapes and characters whose UTF-16 and UTF-8
    // orders differ
    Arbitrary<Character> chars = Arbitraries.of('a', 'b', '%', '_', '\\', '/', 'é', '\uE000', '\uFFFF')
        .map(c -> c);
    Arbitrary<String> plain = chars.list().ofMaxSize(3).map(l -> {
      StringBuilder b = new StringBuilder();
      l.forEach(b::append);
      return b.toString();
    });
    return Arbitraries.frequencyOf(
        net.jqwik.api.Tuple.of(8, plain),
        net.jqwik.api.Tuple.of(1, Arbitraries.of("😀", "a😀", "😀a", "a\uD83D\uDE00b")));
  }

  @Provide
  Arbitrary<List<Op>> sequences() {
    return ops().list().ofMaxSize(40);
  }

  private Arbitrary<Op> ops() {
    Arbitrary<Op> simple = simpleOps();
    Arbitrary<Op> tx = Combinators.combine(simple.list().ofMaxSize(5), Arbitraries.of(true, false)).as(Tx::new);
    return Arbitraries.frequencyOf(
        net.jqwik.api.Tuple.of(10, simple),
        net.jqwik.api.Tuple.of(2, tx));
  }

  private Arbitrary<Op> simpleOps() {
    Arbitrary<String> key = keys();
    Arbitrary<byte[]> value = Arbitraries.bytes().array(byte[].class).ofMaxSize(6);
    Arbitrary<Long> version = Arbitraries.longs().between(0, 4);
    return Arbitraries.oneOf(
        Combinators.combine(key, value).as(Put::new),
        Combinators.combine(key, version, value).as(Cas::new),
        key.map(Delete::new),
        key.map(Get::new),
        key.map(ListPrefix::new));
  }

  @Property(tries = 300)
  void behavesLikeTheInMemoryModel(@ForAll("sequences") List<Op> ops) {
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
