package dev.keywarden.jwt;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.crypto.Ed25519Verifier;
import com.nimbusds.jose.crypto.RSASSAVerifier;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.OctetKeyPair;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jwt.SignedJWT;
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
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/** A JWT engine over SQLite and a fresh SoftHSM2 token, with the helpers the JWT tests share. */
final class JwtFixture implements AutoCloseable {
  static final JwtIdentity ALICE = new JwtIdentity("alice", Map.of("team", "payments"));

  final Path dir;
  final SoftHsmToken token = SoftHsmToken.create();
  final SecureRandom random = new SecureRandom();
  final Clock clock;
  Storage storage;
  CountingStorage counting;
  Core core;
  final InitResult init;
  JwtEngine jwt;

  JwtFixture(Path dir, Clock clock) throws Exception {
    this.dir = dir;
    this.clock = clock;
    Files.createDirectories(dir.resolve("db"));
    storage = SqliteStorage.open(dir.resolve("db"));
    counting = new CountingStorage(storage);
    core = new Core(counting, token.provider(4), random, 100);
    init = core.initialize(1, 1, token.pin(), false, (tx, kek) -> "root");
    core.submitUnsealShare(init.shares().get(0));
    jwt = new JwtEngine(core, clock, random);
  }

  /** A new process, as far as the engine can tell: storage reopened, the core unsealed again, a new engine. */
  void restart() {
    close();
    storage = SqliteStorage.open(dir.resolve("db"));
    counting = new CountingStorage(storage);
    core = new Core(counting, token.provider(4), random, 100);
    core.submitUnsealShare(init.shares().get(0));
    jwt = new JwtEngine(core, clock, random);
  }

  @Override
  public void close() {
    core.shutdown();
    storage.close();
  }

  static String issuer(String name) {
    return "https://kms.example/v1/jwt/" + name;
  }

  /** A key with a role "svc" (audience "api", sub the caller's identity). */
  JwtKeyInfo keyWithRole(JwtKeySettings settings) {
    JwtKeyInfo info = jwt.createKey(settings);
    jwt.writeRole(JwtRole.builder("svc-" + settings.name(), settings.name()).allowedAudiences("api")
        .maxTtl(settings.maxTokenTtl()).build());
    return info;
  }

  /** One token signed under the key's "svc" role; fails unless it was signed. */
  String signOne(String key) {
    return signOne(key, Optional.empty());
  }

  String signOne(String key, Optional<Duration> ttl) {
    List<SignResult> r = jwt.sign(key, "svc-" + key, ALICE, List.of(Map.of()), ttl);
    assertEquals(1, r.size());
    assertTrue(r.get(0).ok(), r.get(0).toString());
    return r.get(0).token().orElseThrow();
  }

  static String kid(String token) throws Exception {
    return SignedJWT.parse(token).getHeader().getKeyID();
  }

  /** Whether a verifier holding {@code jwks} (Nimbus, not the engine) accepts the token's signature. */
  static boolean nimbusVerifies(String jwksJson, String token) throws Exception {
    SignedJWT jwt = SignedJWT.parse(token);
    JWK jwk = JWKSet.parse(jwksJson).getKeyByKeyId(jwt.getHeader().getKeyID());
    if (jwk == null) {
      return false;
    }
    JWSVerifier verifier;
    if (jwk instanceof ECKey ec) {
      verifier = new ECDSAVerifier(ec);
    } else if (jwk instanceof RSAKey rsa) {
      verifier = new RSASSAVerifier(rsa);
    } else {
      verifier = new Ed25519Verifier((OctetKeyPair) jwk);
    }
    return jwt.verify(verifier);
  }

  static List<String> kids(String jwksJson) throws Exception {
    return JWKSet.parse(jwksJson).getKeys().stream().map(JWK::getKeyID).toList();
  }

  String privateKeysOnToken() {
    return token.run(List.of("pkcs11-tool", "--module", token.library().toString(), "--token-label",
        token.label(), "--login", "--pin", new String(token.pin()), "--list-objects", "--type", "privkey"));
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

  static KeywardenException refusal(Runnable r) {
    return assertThrows(KeywardenException.class, r::run);
  }
}
