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

  final Storage storage;
  final Core core;
  final SecureRandom random = new SecureRandom();

  /** A new token, storage under a temp directory named {@code prefix…}, initialized and unsealed. */
  BenchCore(String prefix) throws Exception {
    this(SqliteStorage.open(Files.createTempDirectory(prefix)));
  }

  /** A new token over {@code storage} (which this closes), initialized and unsealed. */
  BenchCore(Storage storage) throws Exception {
    String label = "bench-" + HexFormat.of().formatHex(random.generateSeed(4));
    char[] pin = "bench-pin-1234".toCharArray();
    Process init = new ProcessBuilder("softhsm2-util", "--init-token", "--free", "--label", label, "--pin",
        new String(pin), "--so-pin", "bench-so-1234").redirectErrorStream(true).start();
    String out = new String(init.getInputStream().readAllBytes());
    if (init.waitFor() != 0) {
      throw new IllegalStateException("softhsm2-util failed (is SOFTHSM2_CONF set?): " + out);
    }
    this.storage = storage;
    core = new Core(storage, new Pkcs11HsmProvider(LIBRARY, label, 8), random, 100);
    InitResult result = core.initialize(1, 1, pin, false, (tx, kek) -> "root");
    core.submitUnsealShare(result.shares().get(0));
  }

  @Override
  public void close() {
    core.shutdown();
    storage.close();
  }
}
