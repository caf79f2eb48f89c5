package dev.keywarden.ssh;

import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.hsm.testing.SoftHsmToken;
import dev.keywarden.storage.SqliteStorage;
import dev.keywarden.storage.Storage;
import dev.keywarden.unseal.Core;
import dev.keywarden.unseal.InitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.List;
import java.util.function.UnaryOperator;

/** An SSH engine over SQLite and a fresh SoftHSM2 token (one per test class), with ssh-keygen in the same directory. */
final class SshFixture implements AutoCloseable {
  final Path dir;
  final SoftHsmToken token = SoftHsmToken.create();
  final SecureRandom random = new SecureRandom();
  final Clock clock;
  final OpenSsh ssh;
  Storage storage;
  Core core;
  final InitResult init;
  SshEngine engine;
  private final UnaryOperator<Storage> wrap;

  SshFixture(Path dir, Clock clock) throws Exception {
    this(dir, clock, UnaryOperator.identity());
  }

  /** With the storage the engine sees wrapped by {@code wrap} (again on every restart). */
  SshFixture(Path dir, Clock clock, UnaryOperator<Storage> wrap) throws Exception {
    this.dir = dir;
    this.clock = clock;
    this.wrap = wrap;
    this.ssh = new OpenSsh(dir);
    Files.createDirectories(dir.resolve("db"));
    storage = wrap.apply(SqliteStorage.open(dir.resolve("db")));
    core = new Core(storage, token.provider(8), random, 100);
    init = core.initialize(1, 1, token.pin(), false, (tx, kek) -> "root");
    core.submitUnsealShare(init.shares().get(0));
    engine = new SshEngine(core, clock, random);
  }

  /** A new process, as far as the engine can tell: storage reopened, the core unsealed again, a new engine. */
  void restart() {
    close();
    storage = wrap.apply(SqliteStorage.open(dir.resolve("db")));
    core = new Core(storage, token.provider(8), random, 100);
    core.submitUnsealShare(init.shares().get(0));
    engine = new SshEngine(core, clock, random);
  }

  @Override
  public void close() {
    core.shutdown();
    storage.close();
  }

  String privateKeysOnToken() {
    return token.run(List.of("pkcs11-tool", "--module", token.library().toString(), "--token-label",
        token.label(), "--login", "--pin", new String(token.pin()), "--list-objects", "--type", "privkey"));
  }

  static KeywardenException refusal(Runnable r) {
    return assertThrows(KeywardenException.class, r::run);
  }
}
