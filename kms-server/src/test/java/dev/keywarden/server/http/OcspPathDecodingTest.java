package dev.keywarden.server.http;

import static dev.keywarden.testing.Generators.bytes;
import static dev.keywarden.testing.Generators.stringsOver;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.quicktheories.QuickTheory.qt;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.junit.jupiter.api.Test;

/** OCSP GET paths decode to the request whether or not the router already undid the URL escapes. */
class OcspPathDecodingTest {

  @Test
  void anyRequestSurvivesEscapedOrUnescapedPaths() {
    qt().withExamples(500).forAll(bytes(1, 300)).checkAssert(request -> {
      String b64 = Base64.getEncoder().encodeToString(request);
      assertArrayEquals(request,
          PkiController.ocspRequestFromPath(URLEncoder.encode(b64, StandardCharsets.US_ASCII)));
      assertArrayEquals(request, PkiController.ocspRequestFromPath(b64));
      assertArrayEquals(request, PkiController.ocspRequestFromPath(Base64.getUrlEncoder().encodeToString(request)));
    });
  }

  @Test
  void garbageIsRefusedNotThrown() {
    qt().withExamples(100).forAll(stringsOver("!@#$^&*(){}[]|\\\"'<>,;:~` ", 1, 40))
        .checkAssert(path -> assertNull(PkiController.ocspRequestFromPath(path)));
  }
}
