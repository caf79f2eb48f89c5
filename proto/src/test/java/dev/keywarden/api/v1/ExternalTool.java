package dev.keywarden.api.v1;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Runs a tool nobody here wrote (protoc, buf) on the protos. A missing tool skips the test on a workstation and fails
 * it under CI (CI=true), where {@code make deps} has installed it, so the check never goes missing silently.
 */
final class ExternalTool {
  /** What a run printed (standard output and error together) and its exit code. */
  record Run(int exit, String output) {}

  private ExternalTool() {}

  /** The directory of the proto module (Surefire runs tests there). */
  static Path moduleDir() {
    return Path.of("").toAbsolutePath();
  }

  /** Skips (or fails under CI) unless {@code command} is on the PATH. */
  static void require(String command, String installHint) {
    boolean present = false;
    for (String dir : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
      if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, command))) {
        present = true;
        break;
      }
    }
    if (!present) {
      if ("true".equalsIgnoreCase(System.getenv("CI"))) {
        fail(command + " is required (" + installHint + ")");
      }
      Assumptions.abort(command + " is not installed (" + installHint + ")");
    }
  }

  /** The buf CLI pinned by proto/buf/package-lock.json; installs it with {@code npm ci} when missing. */
  static Path buf() throws Exception {
    Path bin = moduleDir().resolve("buf/node_modules/.bin/buf");
    if (!Files.isExecutable(bin)) {
      require("npm", "make deps installs nodejs and npm");
      Run install = run(moduleDir().resolve("buf"), List.of("npm", "ci", "--no-audit", "--no-fund"));
      if (install.exit() != 0) {
        fail("npm ci in proto/buf failed: " + install.output());
      }
    }
    return bin;
  }

  /** Runs {@code command} in {@code dir}, waiting at most two minutes. */
  static Run run(Path dir, List<String> command) throws IOException, InterruptedException {
    Path log = Files.createTempFile("keywarden-tool", ".log");
    try {
      Process p = new ProcessBuilder(new ArrayList<>(command)).directory(dir.toFile()).redirectErrorStream(true)
          .redirectOutput(log.toFile()).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
          .start();
      if (!p.waitFor(2, TimeUnit.MINUTES)) {
        p.destroyForcibly();
        fail(command + " did not finish within two minutes");
      }
      return new Run(p.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
    } finally {
      Files.deleteIfExists(log);
    }
  }
}
