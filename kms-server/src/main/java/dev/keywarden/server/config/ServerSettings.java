package dev.keywarden.server.config;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.storage.PostgresSettings;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What a server runs with, from `--config FILE` and flags (flags win).
 *
 * @param dataDir SQLite's directory (database and init marker); null with PostgreSQL
 * @param pkcs11Library the PKCS#11 module; null selects the dev-only software KEK
 * @param tlsCert PEM certificate chain for gRPC; null for plaintext, which is allowed on loopback only
 * @param postgres where PostgreSQL storage is; null for SQLite in {@code dataDir} (the default)
 * @param grpcThreads the threads gRPC calls run on: 0 (the default) for two pools, the calls that do not wait on a
 *     small fixed pool and the others on Micronaut's IO executor (see GrpcExecutor); N for one fixed pool of N
 */
public record ServerSettings(
    Path dataDir,
    HostPort grpcAddress,
    HostPort httpAddress,
    Path pkcs11Library,
    String pkcs11Token,
    int pkcs11Sessions,
    Path tlsCert,
    Path tlsKey,
    PostgresSettings postgres,
    int grpcThreads) {
  /** The most threads --grpc-threads may ask for. */
  public static final int MAX_GRPC_THREADS = 4096;

  /** Settings with SQLite storage in {@code dataDir}. */
  public ServerSettings(Path dataDir, HostPort grpcAddress, HostPort httpAddress, Path pkcs11Library,
      String pkcs11Token, int pkcs11Sessions, Path tlsCert, Path tlsKey) {
    this(dataDir, grpcAddress, httpAddress, pkcs11Library, pkcs11Token, pkcs11Sessions, tlsCert, tlsKey, null);
  }

  /** Settings with gRPC calls on the default executors (see GrpcExecutor). */
  public ServerSettings(Path dataDir, HostPort grpcAddress, HostPort httpAddress, Path pkcs11Library,
      String pkcs11Token, int pkcs11Sessions, Path tlsCert, Path tlsKey, PostgresSettings postgres) {
    this(dataDir, grpcAddress, httpAddress, pkcs11Library, pkcs11Token, pkcs11Sessions, tlsCert, tlsKey, postgres, 0);
  }

  /** These settings with gRPC calls on a fixed pool of {@code threads} (0: the default executors). */
  public ServerSettings withGrpcThreads(int threads) {
    return new ServerSettings(dataDir, grpcAddress, httpAddress, pkcs11Library, pkcs11Token, pkcs11Sessions, tlsCert,
        tlsKey, postgres, threads);
  }

  /** "sqlite" or "postgresql", as {@code Storage.kind()} says. */
  public String storageKind() {
    return postgres == null ? "sqlite" : "postgresql";
  }

  /** A host and port as given on the command line ("127.0.0.1:8400", "[::1]:8400", ":8400"). */
  public record HostPort(String host, int port) {
    /** Parses host:port; INVALID_ARGUMENT names the flag. */
    public static HostPort parse(String flag, String value) {
      int colon = value.lastIndexOf(':');
      if (colon < 0) {
        throw KeywardenException.invalid(flag + " must be host:port, got '" + value + "'");
      }
      String host = value.substring(0, colon);
      if (host.startsWith("[") && host.endsWith("]")) {
        host = host.substring(1, host.length() - 1);
      }
      if (host.isEmpty()) {
        host = "0.0.0.0";
      }
      try {
        int port = Integer.parseInt(value.substring(colon + 1));
        if (port < 0 || port > 65535) {
          throw new NumberFormatException();
        }
        return new HostPort(host, port);
      } catch (NumberFormatException e) {
        throw KeywardenException.invalid(flag + ": '" + value.substring(colon + 1) + "' is not a port number");
      }
    }

    boolean isLoopback() {
      try {
        for (InetAddress a : InetAddress.getAllByName(host)) {
          if (!a.isLoopbackAddress()) {
            return false;
          }
        }
        return true;
      } catch (UnknownHostException e) {
        return false;
      }
    }

    @Override
    public String toString() {
      return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }
  }

  /** Refuses settings that would be unsafe or cannot work, with a message naming the flag. */
  public ServerSettings validate() {
    if (postgres == null && dataDir == null) {
      throw KeywardenException.invalid("--data-dir is required (or data-dir in --config; or use --dev)");
    }
    if (postgres != null && dataDir != null) {
      throw KeywardenException.invalid("--data-dir is where SQLite keeps its database: with --storage postgres "
          + "everything is in PostgreSQL, leave --data-dir out");
    }
    if ((tlsCert == null) != (tlsKey == null)) {
      throw KeywardenException.invalid("--tls-cert and --tls-key go together");
    }
    if (tlsCert == null && !grpcAddress.isLoopback()) {
      throw KeywardenException.invalid("--grpc-address " + grpcAddress
          + " is not a loopback address: plaintext is allowed only on loopback; give --tls-cert and --tls-key");
    }
    if (!httpAddress.isLoopback() && tlsCert == null) {
      throw KeywardenException.invalid("--http-address " + httpAddress
          + " is not a loopback address: serve it on loopback (behind a TLS proxy) for now");
    }
    for (Path p : new Path[] {tlsCert, tlsKey}) {
      if (p != null && !Files.isReadable(p)) {
        throw KeywardenException.invalid("cannot read " + p);
      }
    }
    if (grpcThreads < 0 || grpcThreads > MAX_GRPC_THREADS) {
      throw KeywardenException.invalid("--grpc-threads must be 0 (the default executors) or 1 to "
          + MAX_GRPC_THREADS + ", got " + grpcThreads);
    }
    if (pkcs11Library != null && !Files.isRegularFile(pkcs11Library)) {
      throw KeywardenException.precondition("--pkcs11-library " + pkcs11Library + " does not exist");
    }
    if (pkcs11Library != null && (pkcs11Token == null || pkcs11Token.isBlank())) {
      throw KeywardenException.invalid("--pkcs11-token (the token's label) is required with --pkcs11-library");
    }
    return this;
  }
}
