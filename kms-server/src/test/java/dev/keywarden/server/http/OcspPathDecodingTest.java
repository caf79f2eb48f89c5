package dev.keywarden.server.http;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.Size;

/** OCSP GET paths decode to the request whether or not the router already undid the URL escapes. */
class OcspPathDecodingTest {

  @Property(tries = 500)
  void anyRequestSurvivesEscapedOrUnescapedPaths(@ForAll @Size(min = 1, max = 300) byte[] request) {
    String b64 = Base64.getEncoder().encodeToString(request);
    assertArrayEquals(request, PkiController.ocspRequestFromPath(URLEncoder.encode(b64, StandardCharsets.US_ASCII)));
    assertArrayEquals(request, PkiController.ocspRequestFromPath(b64));
    assertArrayEquals(request, PkiController.ocspRequestFromPath(Base64.getUrlEncoder().encodeToString(request)));
  }

  @Property(tries = 100)
  void garbageIsRefusedNotThrown(@ForAll("garbage") String path) {
    assertNull(PkiController.ocspRequestFromPath(path));
  }

  @net.jqwik.api.Provide
  net.jqwik.api.Arbitrary<String> garbage() {
    return net.jqwik.api.Arbitraries.strings().withChars("!@#$^&*(){}[]|\\\"'<>,;:~` ").ofMinLength(1).ofMaxLength(40);
  }
}
