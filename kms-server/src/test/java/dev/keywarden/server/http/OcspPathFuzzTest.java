package dev.keywarden.server.http;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * The OCSP GET path is anyone's text. Whatever it is, decoding gives bytes or null (then the responder answers
 * malformedRequest), never an exception; and any request's base64, escaped or not, standard or URL-safe, decodes
 * to the request.
 */
class OcspPathFuzzTest {

  @FuzzTest
  void anyPathDecodesOrIsNull(byte[] path) {
    PkiController.ocspRequestFromPath(new String(path, StandardCharsets.UTF_8));
    PkiController.ocspRequestFromPath(new String(path, StandardCharsets.ISO_8859_1));
  }

  @FuzzTest
  void anyRequestSurvivesItsPathForms(byte[] request) {
    String b64 = Base64.getEncoder().encodeToString(request);
    assertArrayEquals(request, PkiController.ocspRequestFromPath(b64));
    assertArrayEquals(request, PkiController.ocspRequestFromPath(URLEncoder.encode(b64, StandardCharsets.US_ASCII)));
    assertArrayEquals(request, PkiController.ocspRequestFromPath(Base64.getUrlEncoder().encodeToString(request)));
  }
}
