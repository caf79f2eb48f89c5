package dev.keywarden.server.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.keywarden.server.gate.LocalKeywarden;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A client call starts no server framework: neither Micronaut nor Netty (the server's transport) is loaded, as they
 * took most of a short CLI run. Each call runs in its own JVM, as a person runs the CLI, against a real server over
 * TLS with a token.
 */
class ClientStartupTest {
  private static final List<String> SERVER_ONLY = List.of("io.micronaut.", "io.netty.", "io.grpc.netty.",
      "ch.qos.logback.");
  /**
   * grpc-java's name resolver registry makes every provider the jar lists, grpc-netty's Unix-socket one too, for any
   * channel; it loads no Netty class.
   */
  private static final List<String> ALLOWED = List.of("io.grpc.netty.UdsNameResolverProvider",
      "io.grpc.netty.UdsNameResolver");

  @TempDir
  Path dir;

  @Test
  void clientCallsLoadNoMicronautNoNettyAndNoLogback() throws Exception {
    try (LocalKeywarden kw = new LocalKeywarden(dir, 1L << 30, true)) {
      List<String> connection = List.of("--addr", "127.0.0.1:" + kw.server.getPort(), "--ca-cert",
          kw.serverCert.toString(), "--token", kw.rootToken);
      Path plaintext = Files.writeString(dir.resolve("plaintext"), "card 4111");

      assertLoadsNoServerClasses(connection, "status");
      assertLoadsNoServerClasses(connection, "transit", "create-key", "orders");
      String ciphertext = assertLoadsNoServerClasses(connection, "transit", "encrypt", "orders", "--in",
          plaintext.toString());
      assertTrue(ciphertext.startsWith("kw:v1:"), ciphertext);
      assertLoadsNoServerClasses(List.of(), "--version");
    }
  }

  /** Runs `keywarden ARGS CONNECTION` in a child JVM; returns what it printed. */
  private String assertLoadsNoServerClasses(List<String> connection, String... args) throws Exception {
    Path classLog = Files.createTempFile(dir, "classes", ".txt");
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xlog:class+load=info:file=" + classLog, "-cp", System.getProperty("java.class.path"),
        "dev.keywarden.server.Main"));
    cmd.addAll(List.of(args));
    cmd.addAll(connection);
    Process p = new ProcessBuilder(cmd).redirectError(dir.resolve("stderr.txt").toFile()).start();
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the CLI did not finish");
    assertEquals(0, p.exitValue(), String.join(" ", args) + ": " + Files.readString(dir.resolve("stderr.txt")));
    List<String> loaded = serverClasses(classLog);
    assertTrue(loaded.isEmpty(), "`keywarden " + String.join(" ", args) + "` loaded " + loaded.size()
        + " server-side classes, e.g. " + loaded.subList(0, Math.min(10, loaded.size())));
    return out.strip();
  }

  private static List<String> serverClasses(Path classLog) throws IOException {
    List<String> found = new ArrayList<>();
    for (String line : Files.readAllLines(classLog)) {
      // "[0.123s][info][class,load] io.netty.util.Foo source: …"
      String[] parts = line.split(" ");
      if (parts.length > 1 && SERVER_ONLY.stream().anyMatch(parts[1]::startsWith) && !ALLOWED.contains(parts[1])) {
        found.add(parts[1]);
      }
    }
    return found;
  }
}
