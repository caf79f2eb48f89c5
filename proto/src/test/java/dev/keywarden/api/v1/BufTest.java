package dev.keywarden.api.v1;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * buf (pinned by proto/buf/package-lock.json) lints the protos with the rules in proto/buf.yaml and compares them with
 * the last released API, kept in proto/released/.
 */
class BufTest {
  static final String RELEASED = "released/v0.1.0";

  @Test
  void bufLintPassesWithTheStandardRules() throws Exception {
    ExternalTool.Run run = ExternalTool.run(ExternalTool.moduleDir(),
        List.of(ExternalTool.buf().toString(), "lint"));
    assertEquals(0, run.exit(), run.output());
  }

  @Test
  void theProtosMakeNoBreakingChangeAgainstTheLastRelease() throws Exception {
    ExternalTool.Run run = ExternalTool.run(ExternalTool.moduleDir(),
        List.of(ExternalTool.buf().toString(), "breaking", "--against", RELEASED));
    assertEquals(0, run.exit(), run.output());
  }

  @Test
  void bufBreakingCatchesARenumberedField(@TempDir Path copy) throws Exception {
    Path root = ExternalTool.moduleDir().resolve("src/main/proto");
    try (Stream<Path> files = Files.walk(root)) {
      for (Path f : files.filter(Files::isRegularFile).toList()) {
        Path to = copy.resolve(root.relativize(f).toString());
        Files.createDirectories(to.getParent());
        Files.copy(f, to);
      }
    }
    Path policy = copy.resolve("keywarden/v1/policy.proto");
    String text = Files.readString(policy, StandardCharsets.UTF_8);
    String renumbered = text.replaceFirst("message ReadPolicyRequest \\{([^}]*?) = 1;", "message ReadPolicyRequest {$1 = 9;");
    assertTrue(!renumbered.equals(text), "policy.proto no longer has ReadPolicyRequest field 1 to renumber");
    Files.writeString(policy, renumbered, StandardCharsets.UTF_8);

    ExternalTool.Run run = ExternalTool.run(ExternalTool.moduleDir(), List.of(ExternalTool.buf().toString(),
        "breaking", copy.toString(), "--against", RELEASED));

    assertEquals(100, run.exit(), run.output()); // buf's exit code for "found breaking changes"
    assertTrue(run.output().contains("Previously present field \"1\" with name \"name\" on message \"ReadPolicyRequest\""),
        run.output());
  }
}
