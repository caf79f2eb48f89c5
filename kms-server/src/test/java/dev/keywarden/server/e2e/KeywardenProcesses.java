package dev.keywarden.server.e2e;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Runs the real fat jar: a server process and CLI processes, as an operator would. */
final class KeywardenProcesses {
  static final ObjectMapper JSON = new ObjectMapper();

  static Path jar() {
    Path jar = Path.of(System.getProperty("keywarden.jar", "target/keywarden.jar"));
    assertTrue(Files.isRegularFile(jar), "the fat jar is built before integration tests: " + jar);
    return jar;
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /** What a CLI run printed and its exit code. */
  record Result(int exit, String out, String err) {
    JsonNode json() throws IOException {
      return JSON.readTree(out);
    }

    Result ok() {
      if (exit != 0) {
        fail("expected success, got exit " + exit + "\nstdout: " + out + "\nstderr: " + err);
      }
      return this;
    }

    Result failed(String code, String messagePart) {
      if (exit == 0) {
        fail("expected failure " + code + ", got success: " + out);
      }
      assertTrue(err.contains("(" + code + ")"), "expected " + code + " in: " + err);
      assertTrue(err.contains(messagePart), "expected '" + messagePart + "' in: " + err);
      assertTrue(!err.contains("\tat "), "no stack trace reaches the user: " + err);
      return this;
    }
  }

  /** A running server process. */
  static final class Server implements AutoCloseable {
    final Process process;
    final int grpcPort;
    final int httpPort;
    final StringBuffer log = new StringBuffer();

    Server(Process process, int grpcPort, int httpPort) {
      this.process = process;
      this.grpcPort = grpcPort;
      this.httpPort = httpPort;
    }

    String addr() {
      return "127.0.0.1:" + grpcPort;
    }

    @Override
    public void close() throws Exception {
      process.destroy();
      if (!process.waitFor(20, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor();
      }
    }
  }

  static Server startServer(Map<String, String> env, String... flags) throws Exception {
    return startServer(List.of(), env, flags);
  }

  /** A server whose JVM also gets {@code jvmOptions} (system properties such as the JWT tick period). */
  static Server startServer(List<String> jvmOptions, Map<String, String> env, String... flags) throws Exception {
    int grpc = freePort();
    int http = freePort();
    List<String> cmd = new ArrayList<>(List.of(java()));
    cmd.addAll(jvmOptions);
    cmd.addAll(List.of("-jar", jar().toString(), "server",
        "--grpc-address", "127.0.0.1:" + grpc, "--http-address", "127.0.0.1:" + http));
    cmd.addAll(List.of(flags));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().putAll(env);
    Process p = pb.start();
    Server server = new Server(p, grpc, http);
    CompletableFuture<Boolean> ready = new CompletableFuture<>();
    Thread reader = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) {
          server.log.append(line).append('\n');
          if (line.contains("Keywarden server listening")) {
            ready.complete(true);
          }
        }
      } catch (IOException ignored) {
        // process ended
      }
      ready.complete(false);
    });
    reader.setDaemon(true);
    reader.start();
    if (!ready.get(60, TimeUnit.SECONDS)) {
      p.waitFor(5, TimeUnit.SECONDS);
      fail("server did not start:\n" + server.log);
    }
    return server;
  }

  /** Runs `keywarden ARGS` with the given environment and standard input. */
  static Result cli(Map<String, String> env, String stdin, String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(java()));
    cmd.addAll(clientJvm());
    cmd.addAll(List.of("-cp", jar().toString(), "dev.keywarden.server.Main"));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().remove("KEYWARDEN_TOKEN");
    pb.environment().putAll(env);
    Process p = pb.start();
    CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> read(p.getInputStream()));
    CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> read(p.getErrorStream()));
    if (stdin != null) {
      p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
    }
    p.getOutputStream().close();
    if (!p.waitFor(90, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      fail("CLI timed out: " + String.join(" ", args));
    }
    return new Result(p.exitValue(), out.get(), err.get());
  }

  /**
   * The client JVM as bin/keywarden starts it (an IT runs some 40 CLI calls): C1 only, a small heap, and the
   * class-data-sharing archive when `make build` made one for this jar.
   */
  static List<String> clientJvm() throws IOException {
    List<String> options = new ArrayList<>(List.of("-Xmx256m", "-Xss512k", "-XX:TieredStopAtLevel=1",
        "-XX:CompileThresholdScaling=4", "-XX:+UseG1GC", "-XX:-UsePerfData"));
    Path archive = jar().resolveSibling("keywarden-client.jsa");
    if (Files.isRegularFile(archive)
        && Files.getLastModifiedTime(archive).compareTo(Files.getLastModifiedTime(jar())) > 0) {
      options.addAll(List.of("-XX:SharedArchiveFile=" + archive, "-Xshare:auto",
          "-Xlog:cds=off,cds+dynamic=off,class+path=off"));
    }
    return options;
  }

  static String java() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  private static String read(java.io.InputStream in) {
    try {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "";
    }
  }

  private KeywardenProcesses() {}
}
