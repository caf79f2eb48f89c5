package dev.keywarden.ssh;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs OpenSSH's ssh-keygen in a directory: the oracle the SSH CA's encoders are checked against. */
final class OpenSsh {
  final Path dir;

  OpenSsh(Path dir) {
    this.dir = dir;
  }

  record Run(int exit, String out) {}

  Run keygen(String... args) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add("ssh-keygen");
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes(), UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "ssh-keygen timed out");
    return new Run(p.exitValue(), out);
  }

  /** ssh-keygen must succeed; returns its output. */
  String keygenOk(String... args) throws Exception {
    Run r = keygen(args);
    assertTrue(r.exit() == 0, "ssh-keygen " + String.join(" ", args) + " exited " + r.exit() + ":\n" + r.out());
    return r.out();
  }

  Path write(String name, String text) throws Exception {
    return Files.writeString(dir.resolve(name), text);
  }

  Path write(String name, byte[] bytes) throws Exception {
    return Files.write(dir.resolve(name), bytes);
  }

  /** A fresh key made by ssh-keygen ("ed25519", "ecdsa", "rsa") of {@code bits} (0: its default); the .pub line. */
  String newKey(String name, String type, int bits) throws Exception {
    List<String> args = new ArrayList<>(List.of("-q", "-t", type, "-N", "", "-C", name + "@test", "-f", name));
    if (bits > 0) {
      args.add("-b");
      args.add(Integer.toString(bits));
    }
    keygenOk(args.toArray(String[]::new));
    return Files.readString(dir.resolve(name + ".pub")).strip();
  }
}
