package dev.keywarden.bench;

import dev.keywarden.hsm.software.SoftwareHsmProvider;
import dev.keywarden.server.auth.AccessControl;
import dev.keywarden.server.auth.Capabilities;
import dev.keywarden.server.auth.Caller;
import dev.keywarden.server.auth.PolicyStore;
import dev.keywarden.server.auth.TokenStore;
import dev.keywarden.storage.SqliteStorage;
import dev.keywarden.storage.Storage;
import dev.keywarden.unseal.Core;
import dev.keywarden.unseal.InitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.*;

/**
 * The authenticated request path every RPC takes: keyed hash of the bearer token, cached token record, cached policy,
 * rule match. It must touch neither storage nor the HSM; compare with {@link #storageRead} to see it does not.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class AccessControlBenchmark {
  private Path dir;
  private Storage storage;
  private Core core;
  private AccessControl access;
  private TokenStore tokens;
  private String token;

  @Setup
  public void setUp() throws Exception {
    dir = Files.createTempDirectory("kw-bench-");
    storage = SqliteStorage.open(dir);
    SecureRandom random = new SecureRandom();
    core = new Core(storage, new SoftwareHsmProvider(), random, 1000);
    TokenStore tokens = new TokenStore(core, Clock.systemUTC(), random);
    PolicyStore policies = new PolicyStore(storage, () -> new Capabilities(List.of("encrypt")));
    InitResult init = core.initialize(1, 1, null, false, tokens::initialize);
    core.submitUnsealShare(init.shares().get(0));
    policies.write("app", "{\"rules\":[{\"resource\":\"transit/keys/orders-*\",\"capabilities\":[\"encrypt\"]},"
        + "{\"resource\":\"transit/keys/orders-secret\",\"capabilities\":[\"deny\"]}]}");
    access = new AccessControl(policies);
    this.tokens = tokens;
    token = tokens.create(List.of("app"), Duration.ofHours(1), "bench").token();
  }

  @TearDown
  public void tearDown() {
    core.shutdown();
    storage.close();
  }

  @Benchmark
  @Threads(2)
  public Caller authorize() {
    Caller caller = tokens.resolve(token);
    access.require(caller, "transit/keys/orders-eu", "encrypt");
    return caller;
  }

  @Benchmark
  @Threads(2)
  public Object storageRead() {
    return storage.get("sys/policies/app");
  }
}
