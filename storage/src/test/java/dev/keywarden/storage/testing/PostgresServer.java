package dev.keywarden.storage.testing;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A throw-away PostgreSQL server for tests, from Debian's {@code postgresql} package: initdb into a fresh directory
 * under /tmp (owned by the {@code postgres} user when the JVM runs as root, since initdb refuses root), pg_ctl on a
 * free loopback port, stopped and deleted by {@link #close()} or at JVM exit. The superuser {@code postgres} logs in
 * without a password over loopback; users made by {@link #createUser} need theirs (scram-sha-256), so tests can see
 * a wrong password refused. No PostgreSQL installed is a failure, never a skip: {@code make deps} installs it.
 */
public final class PostgresServer implements AutoCloseable {
  /** The superuser, who logs in without a password. */
  public static final String SUPERUSER = "postgres";

  private final Path binDir;
  private final Path dir;
  private final Path dataDir;
  private final int port;
  private final boolean asPostgresUser;
  private final Thread shutdownHook;
  private volatile long startMillis;
  private volatile boolean running;

  private PostgresServer(Path binDir, Path dir, int port, boolean asPostgresUser) {
    this.binDir = binDir;
    this.dir = dir;
    this.dataDir = dir.resolve("data");
    this.port = port;
    this.asPostgresUser = asPostgresUser;
    this.shutdownHook = new Thread(this::stopAndDelete, "postgres-test-server-stop");
  }

  /** One server for the whole test JVM, started on first use and stopped at exit; for tests that do not stop it. */
  public static PostgresServer shared() {
    return Shared.SERVER;
  }

  private static final class Shared {
    static final PostgresServer SERVER = start();

    static {
      System.out.println("test PostgreSQL started in " + SERVER.startMillis() + " ms: " + SERVER);
    }
  }

  /** Makes and starts a new server. */
  public static PostgresServer start() {
    long started = System.nanoTime();
    Path bin = findBinDir();
    boolean root = "root".equals(System.getProperty("user.name"));
    try {
      Path dir = Files.createTempDirectory(Path.of("/tmp"), "keywarden-pg-");
      PostgresServer server = new PostgresServer(bin, dir, freePort(), root);
      Runtime.getRuntime().addShutdownHook(server.shutdownHook);
      try {
        if (root) {
          UserPrincipalLookupService users = dir.getFileSystem().getUserPrincipalLookupService();
          Files.setOwner(dir, users.lookupPrincipalByName(SUPERUSER));
          Files.getFileAttributeView(dir, java.nio.file.attribute.PosixFileAttributeView.class)
              .setGroup(users.lookupPrincipalByGroupName(SUPERUSER));
        }
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        server.run(bin.resolve("initdb").toString(), "-D", server.dataDir.toString(), "-A", "trust", "-U", SUPERUSER,
            "-E", "UTF8", "--no-locale", "--no-sync");
        server.writeHba();
        server.startServer();
        server.startMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
        return server;
      } catch (RuntimeException | Error e) {
        server.close();
        throw e;
      }
    } catch (IOException e) {
      throw new IllegalStateException("could not make a PostgreSQL test server: " + e.getMessage(), e);
    }
  }

  /** How long {@link #start()} took (initdb and the first start), in milliseconds. */
  public long startMillis() {
    return startMillis;
  }

  private static Path findBinDir() {
    Path root = Path.of("/usr/lib/postgresql");
    List<Path> candidates = new ArrayList<>();
    if (Files.isDirectory(root)) {
      try (Stream<Path> versions = Files.list(root)) {
        versions.map(v -> v.resolve("bin")).filter(b -> Files.isExecutable(b.resolve("initdb")))
            .forEach(candidates::add);
      } catch (IOException e) {
        throw new IllegalStateException("cannot list " + root, e);
      }
    }
    if (candidates.isEmpty()) {
      throw new IllegalStateException("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): the storage "
          + "tests need a real one; `make deps` installs Debian's postgresql package");
    }
    // the newest major version
    candidates.sort(Comparator.comparing((Path b) -> {
      String v = b.getParent().getFileName().toString();
      return v.matches("\\d+") ? Integer.parseInt(v) : 0;
    }));
    return candidates.get(candidates.size() - 1);
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /** Loopback only: the superuser without a password (trust), everyone else with one. */
  private void writeHba() throws IOException {
    String hba = """
        local all all trust
        host all postgres 127.0.0.1/32 trust
        host all all 127.0.0.1/32 scram-sha-256
        """;
    Path file = dataDir.resolve("pg_hba.conf");
    Files.writeString(file, hba, StandardCharsets.US_ASCII);
  }

  /** Starts the (stopped) server again on the same port and data. */
  public void startServer() {
    run(binDir.resolve("pg_ctl").toString(), "-D", dataDir.toString(), "-l", dir.resolve("log").toString(),
        "-o", "-p " + port + " -k " + dir + " -c listen_addresses=127.0.0.1", "-w", "-t", "60", "start");
    running = true;
  }

  /** Stops the server at once, as a crash would (-m immediate); {@link #startServer()} brings it back. */
  public void stopServer() {
    run(binDir.resolve("pg_ctl").toString(), "-D", dataDir.toString(), "-m", "immediate", "-w", "stop");
    running = false;
  }

  /** The port the server listens on (127.0.0.1). */
  public int port() {
    return port;
  }

  /** The JDBC URL of {@code database}. */
  public String jdbcUrl(String database) {
    return "jdbc:postgresql://127.0.0.1:" + port + "/" + database;
  }

  /** Creates a database (UTF8) and returns its JDBC URL. */
  public String createDatabase(String name) {
    requireIdentifier(name);
    superuserStatement("CREATE DATABASE " + name + " ENCODING 'UTF8' TEMPLATE template0");
    return jdbcUrl(name);
  }

  /** Creates a login user with {@code password} that owns database {@code database}. */
  public void createUser(String name, String password, String database) {
    requireIdentifier(name);
    requireIdentifier(database);
    superuserStatement("CREATE USER " + name + " PASSWORD '" + password.replace("'", "''") + "'");
    superuserStatement("ALTER DATABASE " + database + " OWNER TO " + name);
    try (Connection c = superuser(database); Statement s = c.createStatement()) {
      s.execute("ALTER SCHEMA public OWNER TO " + name);
    } catch (SQLException e) {
      throw new IllegalStateException("could not hand schema public to " + name + ": " + e.getMessage(), e);
    }
  }

  /**
   * Terminates every backend whose application_name is {@code applicationName} (e.g. the change feed's
   * "keywarden-listener"); returns how many.
   */
  public int terminate(String applicationName) {
    try (Connection c = superuser("postgres");
        java.sql.PreparedStatement s = c.prepareStatement("SELECT count(pg_terminate_backend(pid)) FROM "
            + "pg_stat_activity WHERE application_name = ?")) {
      s.setString(1, applicationName);
      try (ResultSet rs = s.executeQuery()) {
        rs.next();
        return rs.getInt(1);
      }
    } catch (SQLException e) {
      throw new IllegalStateException("could not terminate " + applicationName + ": " + e.getMessage(), e);
    }
  }

  /** Terminates the change feed's LISTEN connections of every node. */
  public int terminateListeners() {
    return terminate("keywarden-listener");
  }

  /** A superuser connection to {@code database}. */
  public Connection superuser(String database) throws SQLException {
    Properties p = new Properties();
    p.setProperty("user", SUPERUSER);
    return DriverManager.getConnection(jdbcUrl(database), p);
  }

  private void superuserStatement(String sql) {
    try (Connection c = superuser("postgres"); Statement s = c.createStatement()) {
      s.execute(sql);
    } catch (SQLException e) {
      throw new IllegalStateException("test PostgreSQL refused: " + e.getMessage(), e);
    }
  }

  private static void requireIdentifier(String name) {
    if (!name.matches("[a-z_][a-z0-9_]{0,62}")) {
      throw new IllegalArgumentException("not a plain identifier: " + name);
    }
  }

  /** Runs a PostgreSQL program, as the postgres user when we are root; fails with its output. */
  private void run(String... command) {
    List<String> cmd = new ArrayList<>();
    if (asPostgresUser) {
      cmd.addAll(List.of("runuser", "-u", SUPERUSER, "--"));
    }
    cmd.addAll(List.of(command));
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(120, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IllegalStateException(String.join(" ", cmd) + " timed out");
      }
      if (p.exitValue() != 0) {
        String log = "";
        Path logFile = dir.resolve("log");
        if (Files.isReadable(logFile)) {
          log = "\nserver log:\n" + Files.readString(logFile);
        }
        throw new IllegalStateException(String.join(" ", cmd) + " failed (exit " + p.exitValue() + "):\n" + out + log);
      }
    } catch (IOException e) {
      throw new IllegalStateException("could not run " + cmd.get(0) + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted running " + cmd.get(0), e);
    }
  }

  private synchronized void stopAndDelete() {
    if (running) {
      try {
        stopServer();
      } catch (RuntimeException e) {
        System.err.println("stopping the test PostgreSQL failed: " + e.getMessage());
      }
    }
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      System.err.println("deleting " + dir + " failed: " + e.getMessage());
    }
  }

  /** Stops the server and deletes its directory. */
  @Override
  public void close() {
    stopAndDelete();
    try {
      Runtime.getRuntime().removeShutdownHook(shutdownHook);
    } catch (IllegalStateException e) {
      // the JVM is shutting down: the hook is running or ran
    }
  }

  @Override
  public String toString() {
    return "PostgresServer[127.0.0.1:" + port + ", " + dir + "]";
  }
}
