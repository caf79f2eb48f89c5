package dev.keywarden.server.cli;

import dev.keywarden.server.auth.TokenStore;
import dev.keywarden.server.config.ServerSettings;
import dev.keywarden.server.grpc.HealthReporter;
import dev.keywarden.server.wiring.ServerRuntime;
import dev.keywarden.unseal.Core;
import dev.keywarden.unseal.InitResult;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/**
 * `keywarden server --dev`: a throw-away data dir, a SoftHSM2 token made for it when SoftHSM2 is installed (the
 * software KEK otherwise), init 1-of-1 and auto-unseal. SoftHSM2 reads SOFTHSM2_CONF once per process, so when the
 * token dir is new the server runs itself again as a child with SOFTHSM2_CONF set.
 */
final class DevMode {
  static final Path SOFTHSM_LIBRARY = Path.of("/usr/lib/softhsm/libsofthsm2.so");
  static final String TOKEN_LABEL = "keywarden-dev";
  private final ServerCommand command;

  DevMode(ServerCommand command) {
    this.command = command;
  }

  int run() throws Exception {
    if (command.devSoftHsmDir != null) {
      return runWithSoftHsm(command.devSoftHsmDir);
    }
    Path dataDir = Files.createTempDirectory("keywarden-dev-");
    if (Files.isRegularFile(SOFTHSM_LIBRARY) && onPath("softhsm2-util")) {
      return relaunchWithSoftHsm(dataDir);
    }
    System.err.println("WARNING: SoftHSM2 is not installed: the dev server uses the SOFTWARE KEK, which no HSM "
        + "protects. Install softhsm2 (make test does) to run against a real PKCS#11 token.");
    return serve(command.settings(dataDir.resolve("storage")), dataDir, null);
  }

  private int relaunchWithSoftHsm(Path dataDir) throws Exception {
    Path tokens = Files.createDirectories(dataDir.resolve("softhsm-tokens"));
    Path conf = dataDir.resolve("softhsm2.conf");
    Files.writeString(conf, "directories.tokendir = " + tokens + "\nobjectstore.backend = file\nlog.level = ERROR\n");
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add("dev.keywarden.server.Main");
    cmd.add("server");
    cmd.add("--dev");
    cmd.add("--dev-softhsm-dir=" + dataDir);
    if (command.grpcAddress != null) {
      cmd.add("--grpc-address=" + command.grpcAddress);
    }
    if (command.httpAddress != null) {
      cmd.add("--http-address=" + command.httpAddress);
    }
    ProcessBuilder pb = new ProcessBuilder(cmd).inheritIO();
    pb.environment().put("SOFTHSM2_CONF", conf.toString());
    Process child = pb.start();
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      child.destroy();
      try {
        child.waitFor();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      deleteTree(dataDir);
    }));
    return child.waitFor();
  }

  private int runWithSoftHsm(Path dataDir) throws Exception {
    SecureRandom random = new SecureRandom();
    String pin = HexFormat.of().formatHex(bytes(random, 12));
    String soPin = HexFormat.of().formatHex(bytes(random, 12));
    Process init = new ProcessBuilder("softhsm2-util", "--init-token", "--free", "--label", TOKEN_LABEL,
        "--pin", pin, "--so-pin", soPin).redirectErrorStream(true).start();
    String output = new String(init.getInputStream().readAllBytes());
    if (init.waitFor() != 0) {
      throw new IOException("softhsm2-util could not make the dev token: " + output.trim());
    }
    ServerCommand c = command;
    c.pkcs11Library = SOFTHSM_LIBRARY;
    c.pkcs11Token = TOKEN_LABEL;
    return serve(c.settings(dataDir.resolve("storage")), null, pin.toCharArray());
  }

  private int serve(ServerSettings settings, Path deleteOnExit, char[] pin) throws Exception {
    try (ServerRuntime server = ServerRuntime.start(settings)) {
      Core core = server.bean(Core.class);
      TokenStore tokens = server.bean(TokenStore.class);
      InitResult init = core.initialize(1, 1, pin, false, tokens::initialize);
      core.submitUnsealShare(init.shares().get(0));
      server.bean(HealthReporter.class).refresh();
      String hsm = settings.pkcs11Library() != null
          ? "SoftHSM2 token '" + settings.pkcs11Token() + "' (" + settings.pkcs11Library() + ")"
          : "SOFTWARE KEK (no HSM: development only)";
      System.out.println("""
          Keywarden dev server: throw-away, NOT FOR PRODUCTION. Everything is deleted when it stops.
            data dir:     %s
            HSM:          %s, KEK '%s'
            gRPC:         %s
            HTTP:         http://%s/v1/sys/health
            unseal share: %s
            root token:   %s

          In another terminal:
            export KEYWARDEN_ADDR=%s
            export KEYWARDEN_TOKEN=%s
            bin/keywarden status
          """.formatted(settings.dataDir(), hsm, init.kekLabel(), settings.grpcAddress(), settings.httpAddress(),
          init.shares().get(0), init.rootToken(), settings.grpcAddress(), init.rootToken()));
      System.out.flush();
      if (deleteOnExit != null) {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(deleteOnExit)));
      }
      ServerCommand.awaitShutdown(server);
    }
    return 0;
  }

  private static byte[] bytes(SecureRandom random, int n) {
    byte[] b = new byte[n];
    random.nextBytes(b);
    return b;
  }

  private static boolean onPath(String program) {
    String path = System.getenv("PATH");
    if (path == null) {
      return false;
    }
    for (String dir : path.split(":")) {
      if (Files.isExecutable(Path.of(dir, program))) {
        return true;
      }
    }
    return false;
  }

  static void deleteTree(Path root) {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(root)) {
      walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      System.err.println("could not delete " + root + ": " + e.getMessage());
    }
  }
}
