package dev.keywarden.jwt;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.keywarden.failure.KeywardenException.Kind;
import dev.keywarden.failure.KeywardenException;
import dev.keywarden.testing.MutableClock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;

/**
 * Tokens handed to {@code verify} are untrusted text. Whatever it is, verify returns claims or refuses with a
 * KeywardenException of a caller-error kind (INVALID_ARGUMENT for what is not a compact JWS, UNAUTHENTICATED for a
 * failed check), never another exception. One engine over SoftHSM2 serves every input: an ES256 key with one real
 * token, which the second test alters. Seeds: a real ES256 token of another key, alg none, a JWE-shaped text.
 */
class VerifyFuzzTest {
  private static Holder holder;

  private record Holder(JwtFixture fixture, String token) {}

  private static synchronized Holder holder() throws Exception {
    if (holder == null) {
      JwtFixture f = new JwtFixture(Files.createTempDirectory("jwt-fuzz"), MutableClock.running());
      f.keyWithRole(JwtKeySettings.of("k", JwtAlgorithm.ES256, JwtFixture.issuer("k"))
          .withPublishAhead(Duration.ZERO));
      holder = new Holder(f, f.signOne("k"));
    }
    return holder;
  }

  private static void verifyOrRefuse(String text) throws Exception {
    try {
      holder().fixture().jwt.verify("k", text, Optional.of("api"));
    } catch (KeywardenException refused) {
      assertTrue(refused.kind() == Kind.INVALID_ARGUMENT || refused.kind() == Kind.UNAUTHENTICATED,
          refused.kind() + ": " + refused.getMessage());
    }
  }

  /** SoftHSM2 shows tokens made later in this JVM only once every session is closed: close ours. */
  @AfterAll
  static synchronized void closeEngine() {
    if (holder != null) {
      holder.fixture().close();
      holder = null;
    }
  }

  @FuzzTest
  void anyTokenTextIsVerifiedOrRefusedAsACallerError(byte[] input) throws Exception {
    verifyOrRefuse(new String(input, StandardCharsets.UTF_8));
  }

  /** Each three input bytes overwrite one character of a real token: (position high, position low, new char). */
  @FuzzTest
  void anAlteredRealTokenIsVerifiedOrRefusedAsACallerError(byte[] input) throws Exception {
    char[] token = holder().token().toCharArray();
    for (int i = 0; i + 2 < input.length; i += 3) {
      int at = (((input[i] & 0xff) << 8) | (input[i + 1] & 0xff)) % token.length;
      token[at] = (char) (input[i + 2] & 0xff);
    }
    verifyOrRefuse(new String(token));
  }
}
