package dev.keywarden.hsm.testing;

import dev.keywarden.hsm.pkcs11.Pkcs11HsmProvider;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * A fresh, initialized SoftHSM2 token for one test: unique label, random user PIN and SO PIN.
 *
 * <p>SoftHSM2 reads {@code SOFTHSM2_CONF} once, in C_Initialize, and a JVM cannot set its own environment, so all
 * tokens of one test JVM live in one token directory named by that variable; each test gets its own token in it by
 * label. The fixture writes the conf file and creates the directory when they are missing. Tokens are left behind
 * for {@code mvn clean}.
 *
 * <p>Tests are skipped only when the SoftHSM2 library file does not exist; a missing {@code SOFTHSM2_CONF} or a
 * failing {@code softhsm2-util} fails them.
 *
 * <p>What another module's POM must configure to use this fixture (copy into its surefire and/or failsafe plugin):
 * <pre>{@code
 * <dependency>
 *   <groupId>dev.keywarden</groupId>
 *   <artifactId>keywarden-pkcs11-backend</artifactId>
 *   <type>test-jar</type>
 *   <scope>test</scope>
 * </dependency>
 *
 * <configuration>
 *   <environmentVariables>
 *     <SOFTHSM2_CONF>${project.build.directory}/softhsm/softhsm2.conf</SOFTHSM2_CONF>
 *   </environmentVariables>
 *   <!-- keywarden.test.pkcs11 (the SoftHSM2 .so) is already passed by the parent's pluginManagement -->
 * </configuration>
 * }</pre>
 * A server started as a separate process must get {@link #conf()} as its {@code SOFTHSM2_CONF} environment
 * variable (the child inherits it from the test JVM when started with {@code ProcessBuilder}), and
 * {@link #library()}, {@link #label()} and {@link #pin()} as its HSM settings.
 */
public final class SoftHsmToken {

  /** System property naming the SoftHSM2 library; the parent POM passes it to surefire and failsafe. */
  public static final String LIBRARY_PROPERTY = "keywarden.test.pkcs11";
  private static final String DEFAULT_LIBRARY = "/usr/lib/softhsm/libsofthsm2.so";
  private static final SecureRandom RANDOM = new SecureRandom();

  private final Path library;
  private final Path conf;
  private final String label;
  private final char[] pin;
  private final char[] soPin;

  private SoftHsmToken(Path library, Path conf, String label, char[] pin, char[] soPin) {
    this.library = library;
    this.conf = conf;
    this.label = label;
    this.pin = pin;
    this.soPin = soPin;
  }

  /** Makes a new token; skips the test when the SoftHSM2 library is not installed. */
  public static SoftHsmToken create() {
    Path library = installedLibrary();
    Path conf = ensureConf();
    String label = "kw-test-" + randomHex(6);
    char[] pin = randomHex(8).toCharArray();
    char[] soPin = randomHex(8).toCharArray();
    run(conf, List.of("softhsm2-util", "--init-token", "--free", "--label", label,
        "--pin", new String(pin), "--so-pin", new String(soPin)));
    return new SoftHsmToken(library, conf, label, pin, soPin);
  }

  /** The SoftHSM2 library path; skips the calling test when the file does not exist. */
  public static Path installedLibrary() {
    Path library = Path.of(System.getProperty(LIBRARY_PROPERTY, DEFAULT_LIBRARY));
    Assumptions.assumeTrue(Files.isRegularFile(library), "SoftHSM2 is not installed at " + library);
    return library;
  }

  /** The SoftHSM2 library. */
  public Path library() {
    return library;
  }

  /** The token's label. */
  public String label() {
    return label;
  }

  /** A copy of the user PIN; the caller may zeroize it. */
  public char[] pin() {
    return pin.clone();
  }

  /** A copy of the security officer PIN. */
  public char[] soPin() {
    return soPin.clone();
  }

  /** The SOFTHSM2_CONF file to give subprocesses (pkcs11-tool, a server under test). */
  public Path conf() {
    return conf;
  }

  /**
   * This token's own directory inside SoftHSM2's token directory (one per token, named by a UUID; found by the label
   * in its token.object).
   */
  public Path directory() {
    Path tokens = conf.resolveSibling("tokens");
    byte[] wanted = label.getBytes(StandardCharsets.UTF_8);
    try (var dirs = Files.list(tokens)) {
      for (Path dir : (Iterable<Path>) dirs::iterator) {
        Path object = dir.resolve("token.object");
        if (Files.isRegularFile(object) && contains(Files.readAllBytes(object), wanted)) {
          return dir;
        }
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot list " + tokens, e);
    }
    throw new IllegalStateException("no directory in " + tokens + " holds token " + label);
  }

  /**
   * Takes the token away as a restarting network HSM would be: its directory is renamed to a place outside the token
   * directory. Returns what {@link #bringBack} needs.
   */
  public Away takeAway() {
    Path dir = directory();
    Path away = conf.resolveSibling("away-" + label + "-" + dir.getFileName());
    try {
      Files.move(dir, away);
    } catch (IOException e) {
      throw new IllegalStateException("cannot move " + dir + " away", e);
    }
    return new Away(away, dir);
  }

  /** Puts a token taken away by {@link #takeAway} back where it was. */
  public static void bringBack(Away token) {
    try {
      Files.move(token.away(), token.home());
    } catch (IOException e) {
      throw new IllegalStateException("cannot move " + token.away() + " back", e);
    }
  }

  /** Where a token taken away is, and where it belongs. */
  public record Away(Path away, Path home) {}

  /** A provider for this token. */
  public Pkcs11HsmProvider provider(int sessions) {
    return new Pkcs11HsmProvider(library, label, sessions);
  }

  /** Runs a command with this token's SOFTHSM2_CONF and returns its combined output; fails on a non-zero exit. */
  public String run(List<String> command) {
    return run(conf, command);
  }

  @Override
  public String toString() {
    return "SoftHsmToken[" + label + "]";
  }

  private static Path ensureConf() {
    String configured = System.getenv("SOFTHSM2_CONF");
    if (configured == null || configured.isBlank()) {
      throw new IllegalStateException("SOFTHSM2_CONF is not set for this test JVM; configure surefire/failsafe "
          + "<environmentVariables><SOFTHSM2_CONF>${project.build.directory}/softhsm/softhsm2.conf"
          + "</SOFTHSM2_CONF></environmentVariables> (see SoftHsmToken's Javadoc)");
    }
    Path conf = Path.of(configured).toAbsolutePath();
    Path tokens = conf.resolveSibling("tokens");
    synchronized (SoftHsmToken.class) {
      try {
        Files.createDirectories(tokens);
        if (!Files.exists(conf)) {
          Files.writeString(conf, "directories.tokendir = " + tokens + "\nobjectstore.backend = file\n"
              + "log.level = ERROR\nslots.removable = false\n", StandardCharsets.UTF_8);
        }
      } catch (IOException e) {
        throw new IllegalStateException("cannot prepare SoftHSM2 configuration " + conf, e);
      }
    }
    return conf;
  }

  private static String run(Path conf, List<String> command) {
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
    builder.environment().put("SOFTHSM2_CONF", conf.toString());
    try {
      Process process = builder.start();
      String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!process.waitFor(60, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        throw new IllegalStateException(command.get(0) + " did not finish in 60 s");
      }
      if (process.exitValue() != 0) {
        throw new IllegalStateException(command.get(0) + " exited with " + process.exitValue() + ": " + output);
      }
      return output;
    } catch (IOException e) {
      throw new IllegalStateException("cannot run " + command.get(0), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted running " + command.get(0), e);
    }
  }

  private static boolean contains(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= haystack.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return true;
    }
    return false;
  }

  private static String randomHex(int bytes) {
    byte[] b = new byte[bytes];
    RANDOM.nextBytes(b);
    return HexFormat.of().formatHex(b);
  }
}
