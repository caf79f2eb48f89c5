package dev.keywarden.server.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.keywarden.server.auth.jwt.NodeIssuer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * grpc-js-reflection-client (pinned by src/test/node/package-lock.json) run by {@code src/test/node/reflect.mjs}: a
 * client that knows Keywarden's API only from the server's reflection. Without node it skips (fails under CI).
 */
final class NodeReflectionClient {
  private NodeReflectionClient() {}

  /** Lists the services and SystemService's methods over reflection {@code version}, then calls GetStatus. */
  static JsonNode reflect(String addr, String version) throws Exception {
    NodeIssuer.requireNode();
    NodeIssuer.installPackages();
    Process p = new ProcessBuilder("node", "reflect.mjs", addr, version).directory(NodeIssuer.nodeDir().toFile())
        .redirectError(ProcessBuilder.Redirect.INHERIT).start();
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      fail("reflect.mjs did not finish");
    }
    JsonNode answer = new ObjectMapper().readTree(out.isEmpty() ? "{}" : out);
    assertNull(answer.get("failure"), () -> "reflection " + version + ": " + answer.get("failure"));
    assertEquals(0, p.exitValue(), out);
    return answer;
  }
}
