package dev.keywarden.server.gate;

import static org.junit.jupiter.api.Assertions.*;

import dev.keywarden.failure.Inputs;
import dev.keywarden.failure.KeywardenException;
import dev.keywarden.server.grpc.ListPages;
import dev.keywarden.server.grpc.PkiGrpcService;
import dev.keywarden.transit.TransitLimits;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The protos are the API reference, so every limit the server enforces is written beside its field (protovalidate's
 * buf.validate annotations are not used: see README, "Limits"). Each row reads the comment of one field in the
 * .proto files the proto module ships and checks it states the number the server's constant holds, so changing a
 * limit without its documentation fails here.
 */
class DocumentedLimitsTest {
  private static final String EVERY_REQUEST = "a request message is at most " + size(InboundMessages.MAX_MESSAGE_BYTES)
      + ";\n// a string field is at most " + grouped(StringBounds.DEFAULT_MAX) + " characters unless its comment says"
      + " otherwise, except PEM and JSON fields (names\n// ending _pem, _pems or _json) at most "
      + size(StringBounds.DOCUMENT_MAX) + " and a JWT or an OpenSSH public key at most " + size(StringBounds.JWT_MAX);

  /** Every paged List RPC's request: its page limit is documented beside its field. */
  static final String[][] PAGED_LISTS = {
      {"pki.proto", "ListCertificatesRequest"},
      {"pki.proto", "ListRolesRequest"},
      {"pki.proto", "ListRevokedRequest"},
      {"ssh.proto", "ListSshCertificatesRequest"},
      {"ssh.proto", "ListSshRolesRequest"},
      {"transit.proto", "ListKeysRequest"},
      {"jwt.proto", "ListJwtKeysRequest"},
      {"jwt.proto", "ListJwtSigningRolesRequest"},
      {"policy.proto", "ListPoliciesRequest"},
      {"auth_cert.proto", "ListCertRolesRequest"},
      {"auth_jwt.proto", "ListJwtRolesRequest"}};

  static Stream<Arguments> fields() {
    List<Arguments> rows = new ArrayList<>();
    rows.add(Arguments.of("transit.proto", "CreateKeyRequest", "name", "1.." + Inputs.MAX_NAME + " letters"));
    for (String m : List.of("EncryptRequest", "DecryptRequest", "RewrapRequest", "SignRequest", "VerifyRequest",
        "HmacRequest", "VerifyHmacRequest")) {
      rows.add(Arguments.of("transit.proto", m, "items", "at most " + grouped(TransitLimits.MAX_BATCH_ITEMS)));
    }
    rows.add(Arguments.of("transit.proto", "EncryptRequest", "items",
        "together at most " + size(TransitLimits.MAX_BATCH_PLAINTEXT_BYTES)));
    for (String[] f : new String[][] {{"EncryptItem", "plaintext"}, {"SignItem", "input"}, {"VerifyItem", "input"}}) {
      rows.add(Arguments.of("transit.proto", f[0], f[1], "up to " + size(TransitLimits.MAX_INPUT_BYTES)));
    }
    for (String m : List.of("EncryptItem", "DecryptItem", "GenerateDataKeyRequest")) {
      rows.add(Arguments.of("transit.proto", m, "context", "up to " + size(TransitLimits.MAX_CONTEXT_BYTES)));
    }
    rows.add(Arguments.of("transit.proto", "DecryptItem", "ciphertext",
        "at most " + grouped(TransitLimits.MAX_CIPHERTEXT_CHARS) + " characters"));
    rows.add(Arguments.of("transit.proto", "VerifyItem", "signature",
        "at most " + grouped(TransitLimits.MAX_CIPHERTEXT_CHARS) + " characters"));
    rows.add(Arguments.of("pki.proto", "IssueRequest", "alt_names",
        "At most " + PkiGrpcService.MAX_NAMES + " names in all"));
    for (String[] paged : PAGED_LISTS) {
      rows.add(Arguments.of(paged[0], paged[1], "limit",
          "1.." + grouped(ListPages.MAX) + "; 0 means " + grouped(ListPages.DEFAULT)));
    }
    rows.add(Arguments.of("pki.proto", "PkiRole", "name", "1 to " + roleNameMax() + " letters, digits, '_' or '-'"));
    rows.add(Arguments.of("ssh.proto", "SshRole", "name", "1 to " + roleNameMax() + " letters, digits, '_' or '-'"));
    for (String f : List.of("organization", "ou", "locality", "province")) {
      rows.add(Arguments.of("pki.proto", "PkiRole", f, "1 to " + subjectAttributeMax() + " printable characters"));
    }
    return rows.stream();
  }

  @ParameterizedTest(name = "{0} {1}.{2}: \"{3}\"")
  @MethodSource("fields")
  void theFieldCommentStatesTheEnforcedLimit(String file, String message, String field, String phrase)
      throws IOException {
    String comment = fieldComment(proto(file), message, field);
    assertTrue(comment.toLowerCase(Locale.ROOT).contains(phrase.toLowerCase(Locale.ROOT)),
        file + " " + message + "." + field + " says \"" + comment + "\", not \""
        + phrase + "\"");
  }

  @Test
  void everyServiceWithLimitsStatesTheLimitsOnEveryRequest() throws IOException {
    for (String file : List.of("transit.proto", "pki.proto", "ssh.proto")) {
      assertTrue(proto(file).contains(EVERY_REQUEST), file + " lacks: " + EVERY_REQUEST);
    }
  }

  /** The longest role name Inputs accepts, found by trying (its rule is a pattern, not a constant). */
  private static int roleNameMax() {
    for (int n = 1; n < 1_000; n++) {
      String v = "a".repeat(n + 1);
      if (!accepted(() -> Inputs.roleName(v))) {
        return n;
      }
    }
    throw new AssertionError("no limit on role names");
  }

  /** The longest subject attribute (O, OU, L, ST) a PKI role accepts, found by trying. */
  private static int subjectAttributeMax() {
    for (int n = 1; n < 1_000; n++) {
      String v = "a".repeat(n + 1);
      if (!accepted(() -> dev.keywarden.pki.Role.builder("r").serverFlag(true).organization(v).build())) {
        return n;
      }
    }
    throw new AssertionError("no limit on organization");
  }

  private static boolean accepted(Runnable r) {
    try {
      r.run();
      return true;
    } catch (KeywardenException e) {
      return false;
    }
  }

  private static String proto(String file) throws IOException {
    try (InputStream in = DocumentedLimitsTest.class.getResourceAsStream("/keywarden/v1/" + file)) {
      assertNotNull(in, file + " is not on the classpath (the proto module ships its .proto files)");
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  /** The // comment lines right above a field's declaration inside a message, joined with spaces. */
  static String fieldComment(String proto, String message, String field) {
    Matcher start = Pattern.compile("(?m)^message " + message + " \\{$").matcher(proto);
    assertTrue(start.find(), "no message " + message);
    int end = proto.indexOf("\n}", start.end());
    String body = proto.substring(start.end(), end);
    Matcher decl = Pattern.compile("(?m)^  (?:repeated |optional )?[\\w.<>, ]+ " + field + " = \\d+[^;]*;")
        .matcher(body);
    assertTrue(decl.find(), "no field " + message + "." + field);
    String[] before = body.substring(0, decl.start()).split("\n");
    List<String> lines = new ArrayList<>();
    for (int i = before.length - 1; i >= 0 && before[i].trim().startsWith("//"); i--) {
      lines.add(0, before[i].trim().substring(2).trim());
    }
    return String.join(" ", lines);
  }

  /** 10000 as "10,000". */
  private static String grouped(long n) {
    return String.format(Locale.ROOT, "%,d", n);
  }

  /** A power-of-two size as the protos write it: "64 KiB", "1 MiB". */
  private static String size(long bytes) {
    if (bytes % (1 << 20) == 0) {
      return bytes / (1 << 20) + " MiB";
    }
    assertEquals(0, bytes % 1024, bytes + " is not a whole number of KiB");
    return bytes / 1024 + " KiB";
  }
}
