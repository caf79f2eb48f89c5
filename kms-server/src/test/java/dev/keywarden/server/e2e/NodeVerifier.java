package dev.keywarden.server.e2e;

import static org.junit.jupiter.api.Assertions.assertNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.keywarden.server.auth.jwt.NodeIssuer;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.Writer;
import java.io.OutputStreamWriter;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A relying party that verifies Keywarden's JWTs with node's jose ({@code src/test/node/verifier.mjs}): through
 * {@code createRemoteJWKSet} as services do, or with a JWKS fetched once and never again ({@code createLocalJWKSet}).
 * Without node it skips (fails under CI), as {@link NodeIssuer} does.
 */
final class NodeVerifier implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final Process process;
  private final Writer in;
  private final BufferedReader out;

  private NodeVerifier(Process process) {
    this.process = process;
    this.in = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
    this.out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
  }

  static NodeVerifier start() throws Exception {
    NodeIssuer.requireNode();
    NodeIssuer.installPackages();
    return new NodeVerifier(new ProcessBuilder("node", "verifier.mjs").directory(NodeIssuer.nodeDir().toFile())
        .redirectError(ProcessBuilder.Redirect.INHERIT).start());
  }

  /** jwtVerify of each token with createRemoteJWKSet(jwksUrl) (one per URL for the life of this verifier). */
  JsonNode remote(String jwksUrl, String issuer, String audience, int toleranceSeconds, List<String> tokens)
      throws Exception {
    return ask(request("remote", issuer, audience, toleranceSeconds, tokens).put("jwks", jwksUrl)).get("results");
  }

  /** Fetches the JWKS once and keeps it as {@code name}; the kids it held and its Cache-Control. */
  JsonNode snapshot(String name, String jwksUrl) throws Exception {
    return ask(JSON.createObjectNode().put("op", "snapshot").put("name", name).put("jwks", jwksUrl));
  }

  /** jwtVerify of each token with the snapshot {@code name}, never fetching. */
  JsonNode local(String name, String issuer, String audience, int toleranceSeconds, List<String> tokens)
      throws Exception {
    return ask(request("local", issuer, audience, toleranceSeconds, tokens).put("name", name)).get("results");
  }

  private static ObjectNode request(String op, String issuer, String audience, int tolerance, List<String> tokens) {
    ObjectNode r = JSON.createObjectNode().put("op", op).put("issuer", issuer).put("tolerance", tolerance);
    if (audience != null) {
      r.put("audience", audience);
    }
    tokens.forEach(r.putArray("tokens")::add);
    return r;
  }

  private synchronized JsonNode ask(ObjectNode request) throws Exception {
    in.write(JSON.writeValueAsString(request) + "\n");
    in.flush();
    String line = out.readLine();
    if (line == null) {
      throw new IllegalStateException("the node verifier ended");
    }
    JsonNode answer = JSON.readTree(line);
    assertNull(answer.get("failure"), () -> "node verifier: " + answer.get("failure"));
    return answer;
  }

  @Override
  public void close() throws Exception {
    in.close();
    if (!process.waitFor(5, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor();
    }
  }
}
