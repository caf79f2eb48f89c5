package dev.keywarden.server.auth.jwt;

import static org.junit.jupiter.api.Assertions.*;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.strings;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.failure.KeywardenException.Kind;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.junit.jupiter.api.Test;

/** The JWT parse boundary: shape errors are INVALID_ARGUMENT, unsigned and HMAC JWTs UNAUTHENTICATED, nothing else. */
class CompactJwtTest {
  static String b64(String s) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(s.getBytes(StandardCharsets.UTF_8));
  }

  static final String HEADER = b64("{\"alg\":\"ES256\",\"kid\":\"k1\"}");
  static final String PAYLOAD = b64("{\"sub\":\"api\",\"exp\":4102444800}");
  static final String SIG = b64("sig");

  static KeywardenException refused(String jwt) {
    return assertThrows(KeywardenException.class, () -> CompactJwt.parse(jwt));
  }

  @Test
  void aWellFormedJwsParsesWithoutCheckingItsSignature() {
    CompactJwt jwt = CompactJwt.parse(HEADER + "." + PAYLOAD + "." + SIG);
    assertEquals("ES256", jwt.algorithm().getName());
    assertEquals("k1", jwt.header().getKeyID());
    assertEquals("api", jwt.claims().getSubject());
    assertFalse(jwt.toString().contains(PAYLOAD));
  }

  @Test
  void theWrongNumberOfPartsIsInvalid() {
    assertTrue(refused(HEADER + "." + PAYLOAD).getMessage().contains("this one has 2"));
    assertTrue(refused(HEADER + "." + PAYLOAD + "." + SIG + ".x").getMessage().contains("this one has 4"));
    assertTrue(refused("a.b.c.d.e").getMessage().contains("encrypted"));
    assertEquals(Kind.INVALID_ARGUMENT, refused("").kind());
  }

  @Test
  void partsThatAreNotBase64urlOrNotJsonAreInvalid() {
    assertTrue(refused(HEADER + "." + PAYLOAD + "+/." + SIG).getMessage().contains("payload is not base64url"));
    assertTrue(refused(HEADER + "=." + PAYLOAD + "." + SIG).getMessage().contains("header is not base64url"));
    assertTrue(refused(b64("[1]") + "." + PAYLOAD + "." + SIG).getMessage().contains("header is not a JSON"));
    assertTrue(refused(HEADER + "." + b64("\"str\"") + "." + SIG).getMessage().contains("payload is not a JSON"));
    assertTrue(refused(b64("{}") + "." + PAYLOAD + "." + SIG).getMessage().contains("no \"alg\""));
    assertTrue(refused(HEADER + "." + PAYLOAD + ".").getMessage().contains("no signature"));
  }

  @Test
  void aJwtOver16KibIsInvalidBeforeAnyDecoding() {
    KeywardenException e = refused(HEADER + "." + "A".repeat(16 * 1024) + "." + SIG);
    assertEquals(Kind.INVALID_ARGUMENT, e.kind());
    assertTrue(e.getMessage().contains("the limit is 16384"), e.getMessage());
  }

  @Test
  void unsignedAndHmacJwtsAreUnauthenticated() {
    KeywardenException none = refused(b64("{\"alg\":\"none\"}") + "." + PAYLOAD + ".");
    assertEquals(Kind.UNAUTHENTICATED, none.kind());
    assertTrue(none.getMessage().contains("unsigned"));
    for (String alg : new String[] {"HS256", "HS384", "HS512", "hs256"}) {
      KeywardenException hs = refused(b64("{\"alg\":\"" + alg + "\"}") + "." + PAYLOAD + "." + SIG);
      assertEquals(Kind.UNAUTHENTICATED, hs.kind(), alg);
      assertTrue(hs.getMessage().contains("HMAC"), hs.getMessage());
    }
  }

  @Test
  void deeplyNestedJsonIsRefusedNotAStackOverflow() {
    String deep = "{\"a\":" + "[".repeat(6000) + "]".repeat(6000) + "}";
    KeywardenException e = refused(HEADER + "." + b64(deep) + "." + SIG);
    assertEquals(Kind.INVALID_ARGUMENT, e.kind());
  }

  @Test
  void anyTextEitherParsesOrIsRefusedWithOurOwnException() {
    qt().withExamples(3000).forAll(strings().allPossible().ofLengthBetween(0, 300), integers().between(0, 3))
        .checkAssert((text, shape) -> {
          String input = switch (shape) {
            case 0 -> text;
            case 1 -> HEADER + "." + b64(text) + "." + SIG;
            case 2 -> b64(text) + "." + PAYLOAD + "." + SIG;
            default -> text.replace('x', '.');
          };
          try {
            CompactJwt.parse(input);
          } catch (KeywardenException expected) {
            assertFalse(expected.getMessage().contains(PAYLOAD), "never echoes the JWT");
          }
        });
  }
}
