package dev.keywarden.audit;

import static java.nio.charset.StandardCharsets.UTF_8;

import dev.keywarden.hsm.testing.SoftHsmToken;
import dev.keywarden.storage.SqliteStorage;
import dev.keywarden.storage.Storage;
import dev.keywarden.unseal.Core;
import dev.keywarden.unseal.InitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** An audit log over SQLite and a fresh SoftHSM2 token, unsealed, with helpers to make calls and read logs. */
final class AuditFixture implements AutoCloseable {
  final Path dir;
  final SoftHsmToken token = SoftHsmToken.create();
  final SecureRandom random = new SecureRandom();
  final AuditOptions options;
  Storage storage;
  Core core;
  final InitResult init;
  AuditLog audit;

  AuditFixture(Path dir) throws Exception {
    this(dir, AuditOptions.defaults("node-1").withCheckpoints(10, Duration.ofMinutes(10)));
  }

  AuditFixture(Path dir, AuditOptions options) throws Exception {
    this.dir = dir;
    this.options = options;
    Files.createDirectories(dir.resolve("db"));
    storage = SqliteStorage.open(dir.resolve("db"));
    core = new Core(storage, token.provider(8), random, 100);
    init = core.initialize(1, 1, token.pin(), false, (tx, kek) -> "root");
    core.submitUnsealShare(init.shares().get(0));
    audit = new AuditLog(core, options);
  }

  /** A new process: storage reopened, a new core unsealed (which reopens the devices), a new audit log. */
  void restart() {
    close();
    storage = SqliteStorage.open(dir.resolve("db"));
    core = new Core(storage, token.provider(8), random, 100);
    audit = new AuditLog(core, options);
    core.submitUnsealShare(init.shares().get(0));
  }

  void seal() {
    core.seal();
  }

  void unseal() {
    core.submitUnsealShare(init.shares().get(0));
  }

  @Override
  public void close() {
    audit.close();
    core.shutdown();
    storage.close();
  }

  Path file(String name) {
    return dir.resolve(name);
  }

  AuditDeviceConfig fileDevice(String name, AuditDeviceConfig.FsyncPolicy fsync) {
    return AuditDeviceConfig.file(name, file(name + ".log"), fsync);
  }

  static AuditRequest request(int i) {
    return new AuditRequest("keywarden.v1.TransitService/Encrypt", "transit/keys/app-" + i, "encrypt",
        new AuditCaller("token", "app", "acc-" + i, "", "", List.of("app")), "127.0.0.1:5555", true,
        "granted by policy app", Map.of("key", "app-" + i), Map.of("plaintext", ("secret-" + i).getBytes(UTF_8)), 0);
  }

  static AuditResponse response(int i) {
    return new AuditResponse("OK", "", Map.of("key_version", "1"),
        Map.of("ciphertext", ("kw:v1:ct-" + i).getBytes(UTF_8)), 0, Map.of());
  }

  /** {@code n} calls: request then response each. */
  void calls(int n) {
    for (int i = 0; i < n; i++) {
      AuditCall call = audit.writeRequest(request(i));
      audit.writeResponse(call, response(i));
    }
    // response records are handed over without waiting: wait for them before anyone reads the files
    audit.sync(java.time.Duration.ofSeconds(5));
  }

  static List<String> lines(Path file) throws Exception {
    return new ArrayList<>(Files.readAllLines(file, UTF_8));
  }

  static void write(Path file, List<String> lines) throws Exception {
    Files.writeString(file, lines.isEmpty() ? "" : String.join("\n", lines) + "\n", UTF_8);
  }
}
