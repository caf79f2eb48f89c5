package dev.keywarden.bench;

import dev.keywarden.hsm.pkcs11.Pkcs11HsmProvider;
import dev.keywarden.storage.SqliteStorage;
import dev.keywarden.storage.Storage;
import dev.keywarden.unseal.Core;
import dev.keywarden.unseal.InitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * An unsealed core for the engine benchmarks: a fresh SoftHSM2 token (SOFTHSM2_CONF must point at a token directory;
 * `make bench` sets it), SQLite storage in a temp directory, one share. Close it in the benchmark's tear-down.
 */
final class BenchCore implements AutoCloseable {
  private static final Path LIBRARY = Path.of("/usr/lib/softhsm/libsofthsm2.so");

  final Path dir;
  Storage storage;
  Core core;
  final SecureRandom random = new SecureRandom();
  private final String label;
  private final char[] pin = "bench-pin-1234".toCharArray();
  private final InitResult init;

  /** A new token, storage under a temp directory named {@code prefix…}, initialized and unsealed. */
  BenchCore(String prefix) throws Exception {
    this(prefix, newToken());
  }

  /**
   * Over a token made by {@link #newToken} (several cores may share one, each with its own KEK). SoftHSM2 sees a
   * token made after the library was loaded only once every session of the process has closed, so a benchmark that
   * keeps several cores open makes all their tokens first.
   */
  BenchCore(String prefix, String tokenLabel) throws Exception {
    this(prefix, tokenLabel, c -> (tx, kek) -> "root");
  }

  /**
   * With what {@code initialState} makes of the new core written at init (the token store's key and root token,
   * say, by a TokenStore made over that core).
   */
  BenchCore(String prefix, String tokenLabel,
      java.util.function.Function<Core, dev.keywarden.unseal.InitialState> initialState) throws Exception {
    dir = Files.createTempDirectory(prefix);
    label = tokenLabel;
    storage = SqliteStorage.open(dir);
    core = new Core(storage, new Pkcs11HsmProvider(LIBRARY, label, 8), random, 100);
    init = core.initialize(1, 1, pin, false, initialState.apply(core));
    core.submitUnsealShare(init.shares().get(0));
  }

  /** A new token over {@code storage} (which this closes), initialized and unsealed; {@link #restartSealed} not. */
  BenchCore(Storage storage) throws Exception {
    dir = null;
    label = newToken();
    this.storage = storage;
    core = new Core(storage, new Pkcs11HsmProvider(LIBRARY, label, 8), random, 100);
    init = core.initialize(1, 1, pin, false, (tx, kek) -> "root");
    core.submitUnsealShare(init.shares().get(0));
  }

  /** Makes a SoftHSM2 token for {@link #BenchCore(String, String)}; returns its label. */
  static String newToken() throws Exception {
    String label = "bench-" + HexFormat.of().formatHex(new SecureRandom().generateSeed(4));
    Process tokenInit = new ProcessBuilder("softhsm2-util", "--init-token", "--free", "--label", label, "--pin",
        "bench-pin-1234", "--so-pin", "bench-so-1234").redirectErrorStream(true).start();
    String out = new String(tokenInit.getInputStream().readAllBytes());
    if (tokenInit.waitFor() != 0) {
      throw new IllegalStateException("softhsm2-util failed (is SOFTHSM2_CONF set?): " + out);
    }
    return label;
  }

  /** A new process, as far as the engines can tell: storage reopened and a new core, still sealed. */
  void restartSealed() {
    close();
    storage = SqliteStorage.open(dir);
    core = new Core(storage, new Pkcs11HsmProvider(LIBRARY, label, 8), random, 100);
  }

  /** Unseals the core (after {@link #restartSealed}). */
  void unseal() {
    core.submitUnsealShare(init.shares().get(0));
  }

  /** Deletes the temp directory (the data set), after {@link #close}; nothing when the storage was handed in. */
  void deleteFiles() throws java.io.IOException {
    if (dir != null) {
      deleteTree(dir);
    }
  }

  /** {@link #close}, then {@link #deleteFiles}: a JMH tear-down, so a run leaves nothing in the temp directory. */
  void closeAndDelete() throws java.io.IOException {
    close();
    deleteFiles();
  }

  /** Deletes {@code root} and everything under it. */
  static void deleteTree(Path root) throws java.io.IOException {
    try (var walk = Files.walk(root)) {
      walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  @Override
  public void close() {
    core.shutdown();
    storage.close();
  }
}
