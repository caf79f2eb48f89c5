package dev.keywarden.server.cli;

import dev.keywarden.audit.AuditLog;
import dev.keywarden.failure.KeywardenException;
import dev.keywarden.server.config.ServerSettings;
import dev.keywarden.server.config.ServerSettings.HostPort;
import dev.keywarden.server.wiring.AuditHangup;
import dev.keywarden.server.wiring.ServerRuntime;
import dev.keywarden.storage.PostgresSettings;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** `keywarden server`: runs the server until stopped. */
@Command(name = "server", description = "Run the server (sealed until unsealed; --dev: a throw-away, unsealed dev server).")
final class ServerCommand implements Callable<Integer> {
  private static final Set<String> CONFIG_KEYS = Set.of("data-dir", "grpc-address", "http-address", "pkcs11-library",
      "pkcs11-token", "pkcs11-sessions", "tls-cert", "tls-key", "storage", "postgres-url", "postgres-user",
      "postgres-password-file", "grpc-threads");
  /** The environment variable that may hold the PostgreSQL password (never a flag: flags show in process lists). */
  static final String POSTGRES_PASSWORD_ENV = "KEYWARDEN_POSTGRES_PASSWORD";

  @Option(names = "--config", description = "YAML file with any of: " + "data-dir, grpc-address, http-address, "
      + "pkcs11-library, pkcs11-token, pkcs11-sessions, tls-cert, tls-key, storage, postgres-url, postgres-user, "
      + "postgres-password-file, grpc-threads. Flags override it.")
  Path config;

  @Option(names = "--data-dir", description = "Where SQLite storage lives (required unless --dev or --storage "
      + "postgres).")
  Path dataDir;

  @Option(names = "--storage", description = "sqlite (default: one file in --data-dir) or postgres.")
  String storage;

  @Option(names = "--postgres-url", description = "With --storage postgres: "
      + "jdbc:postgresql://HOST:PORT/DATABASE (no password in it).")
  String postgresUrl;

  @Option(names = "--postgres-user", description = "With --storage postgres: the user to log in as.")
  String postgresUser;

  @Option(names = "--postgres-password-file", description = "With --storage postgres: a file holding the password "
      + "(else the environment variable " + POSTGRES_PASSWORD_ENV + ").")
  Path postgresPasswordFile;

  @Option(names = "--grpc-address", description = "gRPC listen address (default 127.0.0.1:8400).")
  String grpcAddress;

  @Option(names = "--http-address", description = "HTTP listen address for health (default 127.0.0.1:8401).")
  String httpAddress;

  @Option(names = "--pkcs11-library", description = "PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so. "
      + "Without it the dev-only software KEK is used.")
  Path pkcs11Library;

  @Option(names = "--pkcs11-token", description = "Label of the PKCS#11 token.")
  String pkcs11Token;

  @Option(names = "--pkcs11-sessions", description = "PKCS#11 session pool size (default 16).")
  Integer pkcs11Sessions;

  @Option(names = "--grpc-threads", description = "Threads gRPC calls run on: 0 (the default) for two pools, "
      + "Encrypt and the other calls that do not wait on two threads per core, the rest on Micronaut's IO executor, "
      + "which grows with the calls waiting; N for one fixed pool of N.")
  Integer grpcThreads;

  @Option(names = "--tls-cert", description = "PEM certificate chain for gRPC TLS.")
  Path tlsCert;

  @Option(names = "--tls-key", description = "PEM private key for gRPC TLS.")
  Path tlsKey;

  @Option(names = "--dev", description = "Throw-away data dir, SoftHSM2 token when installed, init 1-of-1, "
      + "auto-unseal; prints the root token.")
  boolean dev;

  @Option(names = "--dev-softhsm-dir", hidden = true)
  Path devSoftHsmDir;

  @Override
  public Integer call() throws Exception {
    if (dev) {
      return new DevMode(this).run();
    }
    ServerSettings settings = settings(null);
    try (ServerRuntime server = ServerRuntime.start(settings)) {
      AuditHangup.install(server.bean(AuditLog.class));
      System.out.println("Keywarden server listening: gRPC " + settings.grpcAddress() + ", HTTP "
          + settings.httpAddress() + " (sealed until unsealed)");
      System.out.flush();
      awaitShutdown(server);
    }
    return 0;
  }

  /** The settings from the config file and flags; {@code devDataDir} stands in for --data-dir in dev mode. */
  ServerSettings settings(Path devDataDir) throws IOException {
    return settings(devDataDir, System.getenv());
  }

  /** {@link #settings(Path)} with {@code env} for the environment. */
  ServerSettings settings(Path devDataDir, Map<String, String> env) throws IOException {
    Map<String, Object> file = config == null ? Map.of() : readConfig(config);
    PostgresSettings postgres = postgres(file, env);
    if (postgres != null && devDataDir != null) {
      throw KeywardenException.invalid("--dev always uses a throw-away SQLite store: leave out --storage postgres");
    }
    Path data = dataDir != null ? dataDir : devDataDir != null ? devDataDir : path(file, "data-dir");
    Path library = pkcs11Library != null ? pkcs11Library : path(file, "pkcs11-library");
    return new ServerSettings(
        data,
        HostPort.parse("--grpc-address", first(grpcAddress, str(file, "grpc-address"), "127.0.0.1:8400")),
        HostPort.parse("--http-address", first(httpAddress, str(file, "http-address"), "127.0.0.1:8401")),
        library,
        first(pkcs11Token, str(file, "pkcs11-token"), null),
        pkcs11Sessions != null ? pkcs11Sessions : Integer.parseInt(first(str(file, "pkcs11-sessions"), "16", null)),
        tlsCert != null ? tlsCert : path(file, "tls-cert"),
        tlsKey != null ? tlsKey : path(file, "tls-key"),
        postgres,
        grpcThreads != null ? grpcThreads : Integer.parseInt(first(str(file, "grpc-threads"), "0", null)))
        .validate();
  }

  /** PostgreSQL settings from flags, the config file and the environment; null for SQLite. */
  private PostgresSettings postgres(Map<String, Object> file, Map<String, String> env) throws IOException {
    String kind = first(storage, str(file, "storage"), "sqlite");
    String url = first(postgresUrl, str(file, "postgres-url"), null);
    String user = first(postgresUser, str(file, "postgres-user"), null);
    Path passwordFile = postgresPasswordFile != null ? postgresPasswordFile : path(file, "postgres-password-file");
    switch (kind) {
      case "sqlite" -> {
        if (url != null || user != null || passwordFile != null) {
          throw KeywardenException.invalid("--postgres-url, --postgres-user and --postgres-password-file go with "
              + "--storage postgres");
        }
        return null;
      }
      case "postgres" -> {
        if (url == null) {
          throw KeywardenException.invalid("--storage postgres needs --postgres-url "
              + "jdbc:postgresql://HOST:PORT/DATABASE (or postgres-url in --config)");
        }
        if (user == null) {
          throw KeywardenException.invalid("--storage postgres needs --postgres-user (or postgres-user in --config)");
        }
        String password = passwordFile != null ? readPassword(passwordFile) : env.get(POSTGRES_PASSWORD_ENV);
        return new PostgresSettings(url, user, password);
      }
      default -> throw KeywardenException.invalid("--storage must be sqlite or postgres, not '"
          + kind.substring(0, Math.min(kind.length(), 40)) + "'");
    }
  }

  /** The password in {@code file}: its first line. Its contents never reach a message. */
  private static String readPassword(Path file) throws IOException {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IOException("cannot read --postgres-password-file " + file + " (" + e.getClass().getSimpleName()
          + ")");
    }
    String password = text.lines().findFirst().orElse("");
    if (password.isEmpty()) {
      throw KeywardenException.invalid("--postgres-password-file " + file + " is empty: its first line is the "
          + "password");
    }
    return password;
  }

  static void awaitShutdown(ServerRuntime server) throws InterruptedException {
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      server.close();
      stopped.countDown();
    }, "keywarden-shutdown"));
    stopped.await();
  }

  private static Map<String, Object> readConfig(Path file) throws IOException {
    if (!Files.isReadable(file)) {
      throw new IOException("cannot read config file " + file);
    }
    try (InputStream in = Files.newInputStream(file)) {
      Object loaded = new Yaml(new SafeConstructor(new LoaderOptions())).load(in);
      if (loaded == null) {
        return Map.of();
      }
      if (!(loaded instanceof Map<?, ?> map)) {
        throw new IOException("config file " + file + " must be a YAML mapping of key: value");
      }
      for (Object key : map.keySet()) {
        if (!CONFIG_KEYS.contains(String.valueOf(key))) {
          throw new IOException("config file " + file + ": unknown key '" + key + "'; known: " + CONFIG_KEYS);
        }
      }
      @SuppressWarnings("unchecked")
      Map<String, Object> typed = (Map<String, Object>) map;
      return typed;
    } catch (org.yaml.snakeyaml.error.YAMLException e) {
      throw new IOException("config file " + file + " is not valid YAML: " + e.getMessage());
    }
  }

  private static String str(Map<String, Object> file, String key) {
    Object v = file.get(key);
    return v == null ? null : String.valueOf(v);
  }

  private static Path path(Map<String, Object> file, String key) {
    String v = str(file, key);
    return v == null ? null : Path.of(v);
  }

  private static String first(String a, String b, String c) {
    return a != null ? a : b != null ? b : c;
  }
}
