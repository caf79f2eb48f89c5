package dev.keywarden.pki;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.hsm.testing.SoftHsmToken;
import dev.keywarden.storage.SqliteStorage;
import dev.keywarden.storage.Storage;
import dev.keywarden.unseal.Core;
import dev.keywarden.unseal.InitResult;
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.cert.X509CRLHolder;

/** An engine over SQLite and a fresh SoftHSM2 token, with the OpenSSL and X.509 helpers the PKI tests share. */
final class PkiFixture implements AutoCloseable {
  final Path dir;
  final SoftHsmToken token = SoftHsmToken.create();
  final SecureRandom random = new SecureRandom();
  final Clock clock;
  Storage storage;
  Core core;
  final InitResult init;
  PkiEngine pki;
  private final java.util.function.UnaryOperator<Storage> wrap;

  PkiFixture(Path dir, Clock clock) throws Exception {
    this(dir, clock, s -> s);
  }

  /** With the storage seen through {@code wrap} (a recording storage, say). */
  PkiFixture(Path dir, Clock clock, java.util.function.UnaryOperator<Storage> wrap) throws Exception {
    this.dir = dir;
    this.clock = clock;
    this.wrap = wrap;
    Files.createDirectories(dir.resolve("db"));
    storage = wrap.apply(SqliteStorage.open(dir.resolve("db")));
    core = new Core(storage, token.provider(8), random, 100);
    init = core.initialize(1, 1, token.pin(), false, (tx, kek) -> "root");
    core.submitUnsealShare(init.shares().get(0));
    pki = new PkiEngine(core, clock, random);
  }

  /** A new process, as far as the engine can tell: storage reopened, the core unsealed again, a new engine. */
  void restart() {
    close();
    storage = wrap.apply(SqliteStorage.open(dir.resolve("db")));
    core = new Core(storage, token.provider(8), random, 100);
    core.submitUnsealShare(init.shares().get(0));
    pki = new PkiEngine(core, clock, random);
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

  Path write(String name, String text) throws Exception {
    return Files.writeString(dir.resolve(name), text);
  }

  Path write(String name, byte[] bytes) throws Exception {
    return Files.write(dir.resolve(name), bytes);
  }

  record Run(int exit, String out) {}

  Run openssl(String... args) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add("openssl");
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    return new Run(p.exitValue(), out);
  }

  /** OpenSSL must succeed; returns its output. */
  String opensslOk(String... args) throws Exception {
    Run r = openssl(args);
    assertTrue(r.exit() == 0, "openssl " + String.join(" ", args) + ":\n" + r.out());
    return r.out();
  }

  static X509Certificate x509(byte[] der) throws Exception {
    return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream(der));
  }

  static long crlNumber(byte[] crl) throws Exception {
    return ASN1Integer.getInstance(new X509CRLHolder(crl).getExtension(Extension.cRLNumber).getParsedValue())
        .getValue().longValueExact();
  }

  static KeywardenException refusal(Runnable r) {
    return assertThrows(KeywardenException.class, r::run);
  }

  static byte[] csr(String cn) {
    try {
      return TestKeys.csr(TestKeys.ec("secp256r1"), "CN=" + cn, List.of());
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
