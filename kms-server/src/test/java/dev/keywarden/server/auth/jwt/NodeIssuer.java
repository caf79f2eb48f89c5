package dev.keywarden.server.auth.jwt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * The workload issuer of the JWT tests: {@code src/test/node/issuer.mjs} in a node process, where jose makes the keys
 * and signs the JWTs and a loopback HTTP server serves the JWKS (and an OIDC discovery document). Without node the
 * tests are skipped on a workstation and fail under CI (CI=true), so they never go missing silently.
 */
public final class NodeIssuer implements AutoCloseable {
  static final ObjectMapper JSON = new ObjectMapper();
  private final Process process;
  private final HttpClient http = HttpClient.newBuilder().proxy(HttpClient.Builder.NO_PROXY).build();
  public final String base;

  private NodeIssuer(Process process, int port) {
    this.process = process;
    this.base = "http://127.0.0.1:" + port;
  }

  /** The node tooling's directory (module-relative, as Maven runs tests). */
  public static Path nodeDir() {
    return Path.of("src/test/node").toAbsolutePath();
  }

  /** Starts the issuer; installs the locked jose with `npm ci` when node_modules is missing. */
  public static NodeIssuer start() throws Exception {
    requireNode();
    Path dir = nodeDir();
    installPackages();
    Process p = new ProcessBuilder("node", "issuer.mjs").directory(dir.toFile())
        .redirectError(ProcessBuilder.Redirect.INHERIT).start();
    BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    String first = out.readLine();
    if (first == null) {
      p.waitFor(5, TimeUnit.SECONDS);
      fail("the node issuer did not start (exit " + (p.isAlive() ? "none" : p.exitValue()) + ")");
    }
    return new NodeIssuer(p, JSON.readTree(first).get("port").asInt());
  }

  /** Installs the packages package-lock.json pins (`npm ci`) when one of them is missing from node_modules. */
  public static void installPackages() throws Exception {
    Path dir = nodeDir();
    for (String pkg : List.of("jose", "@grpc/grpc-js", "@grpc/proto-loader", "protobufjs",
        "grpc-js-reflection-client")) {
      if (!Files.isDirectory(dir.resolve("node_modules").resolve(pkg))) {
        run(dir, "npm", "ci", "--no-audit", "--no-fund");
        return;
      }
    }
  }

  /** Skips without node, except under CI where a missing node is a failure. */
  public static void requireNode() {
    boolean present;
    try {
      present = new ProcessBuilder("node", "--version").redirectErrorStream(true).start().waitFor() == 0;
    } catch (IOException | InterruptedException e) {
      present = false;
    }
    if (!present) {
      if ("true".equalsIgnoreCase(System.getenv("CI"))) {
        fail("node is required for the JWT login tests (make deps installs nodejs and npm)");
      }
      Assumptions.abort("node is not installed: the JWT login tests need it (make deps installs it)");
    }
  }

  /** The JWKS URL. */
  public String jwksUrl() {
    return base + "/jwks";
  }

  /** A JWT with these claims signed by the issuer's current key for {@code alg} ("none" and "HS256" too). */
  public String mint(String alg, Map<String, Object> claims) throws Exception {
    return mint(Map.of("alg", alg, "claims", claims));
  }

  /** A JWT from a full mint request ({alg, claims, kid?, typ?}). */
  public String mint(Map<String, Object> request) throws Exception {
    return post("/mint", request);
  }

  /** Replaces the key of {@code alg}; returns the new kid. */
  public String rotate(String alg) throws Exception {
    return JSON.readTree(post("/rotate", Map.of("alg", alg))).get("kid").asText();
  }

  /** How many times the JWKS has been fetched. */
  public int jwksFetches() throws Exception {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/stats")).build(),
        HttpResponse.BodyHandlers.ofString());
    return JSON.readTree(r.body()).get("jwks_fetches").asInt();
  }

  /** The current JWKS document. */
  public JsonNode jwks() throws Exception {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(jwksUrl())).build(),
        HttpResponse.BodyHandlers.ofString());
    return JSON.readTree(r.body());
  }

  private String post(String path, Object body) throws Exception {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + path))
        .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body))).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, r.statusCode(), r.body());
    return r.body();
  }

  private static void run(Path dir, String... cmd) throws Exception {
    Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(Duration.ofMinutes(3).toSeconds(), TimeUnit.SECONDS) || p.exitValue() != 0) {
      fail(String.join(" ", cmd) + " failed in " + dir + ":\n" + out);
    }
  }

  @Override
  public void close() throws Exception {
    process.getOutputStream().close();
    if (!process.waitFor(5, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor();
    }
  }
}
