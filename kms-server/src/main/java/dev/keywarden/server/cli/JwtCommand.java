package dev.keywarden.server.cli;

import com.google.protobuf.ListValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.protobuf.util.Durations;
import com.google.protobuf.util.JsonFormat;
import com.google.protobuf.util.Timestamps;
import dev.keywarden.api.v1.*;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.TypeConversionException;

/**
 * `keywarden jwt …`: JWT signing keys in the HSM, their published JWKS, roles, signing and verification.
 * Its subcommands are listed in {@link CommandTree}.
 */
@Command(name = "jwt", description = "Sign JWTs with keys in the HSM: keys published ahead in a JWKS, rotation, roles,"
    + " sign and verify. (Logging in with a JWT is `login jwt`.)")
final class JwtCommand {
  private static final int MAX_READ = 64 << 20;

  static JwtAlgorithm algorithm(String name) {
    return switch (name) {
      case "ES256" -> JwtAlgorithm.JWT_ALGORITHM_ES256;
      case "ES384" -> JwtAlgorithm.JWT_ALGORITHM_ES384;
      case "EdDSA" -> JwtAlgorithm.JWT_ALGORITHM_EDDSA;
      case "RS256" -> JwtAlgorithm.JWT_ALGORITHM_RS256;
      case "PS256" -> JwtAlgorithm.JWT_ALGORITHM_PS256;
      default -> throw new TypeConversionException("'" + name + "' is not one of ES256, ES384, EdDSA, RS256, PS256");
    };
  }

  static String algorithmName(JwtAlgorithm a) {
    return switch (a) {
      case JWT_ALGORITHM_EDDSA -> "EdDSA";
      default -> a.name().replace("JWT_ALGORITHM_", "");
    };
  }

  static String stateName(JwtKeyVersionState s) {
    return s.name().replace("JWT_KEY_VERSION_STATE_", "").toLowerCase(Locale.ROOT).replace('_', '-');
  }

  static com.google.protobuf.Duration proto(Duration d) {
    return Durations.fromSeconds(d.getSeconds());
  }

  static String describe(JwtKey k) {
    JwtKeyConfig c = k.getConfig();
    StringBuilder b = new StringBuilder("JWT key " + c.getName() + " (" + algorithmName(c.getAlgorithm())
        + (c.getRsaBits() != 0 ? " " + c.getRsaBits() + " bits" : "") + (c.getSoftware() ? ", software" : ", HSM")
        + ")\n")
        .append("  issuer:          ").append(c.getIssuer()).append('\n')
        .append("  jwks_uri:        ").append(k.getJwksUri()).append('\n')
        .append("  publish ahead:   ").append(Durations.toString(c.getPublishAhead())).append('\n')
        .append("  rotation period: ").append(c.hasRotationPeriod() ? Durations.toString(c.getRotationPeriod())
            : "none (on demand)").append('\n')
        .append("  max token TTL:   ").append(Durations.toString(c.getMaxTokenTtl())).append('\n')
        .append("  clock skew:      ").append(Durations.toString(c.getSkew())).append('\n')
        .append("  signing kid:     ").append(k.getActiveKid().isEmpty() ? "(none yet)" : k.getActiveKid());
    for (JwtKeyVersion v : k.getVersionsList()) {
      b.append("\n  v").append(v.getVersion()).append(' ').append(stateName(v.getState())).append(" kid ")
          .append(v.getKid()).append("\n    active from ").append(Timestamps.toString(v.getActiveFrom()));
      if (v.hasActiveUntil()) {
        b.append(" until ").append(Timestamps.toString(v.getActiveUntil()));
      }
      if (v.hasVerifiableUntil()) {
        b.append(", published until ").append(Timestamps.toString(v.getVerifiableUntil()));
      }
      if (v.hasRevokedAt()) {
        b.append(", REVOKED at ").append(Timestamps.toString(v.getRevokedAt()));
      }
      if (v.hasDestroyedAt()) {
        b.append(", destroyed at ").append(Timestamps.toString(v.getDestroyedAt()));
      }
    }
    return b.toString();
  }

  static String describe(JwtRotation r) {
    return "Version " + r.getVersion() + " (kid " + r.getKid() + ") " + (r.getNewVersion() ? "made, " : "")
        + "signs from " + Timestamps.toString(r.getActiveFrom()) + (r.getWarning().isEmpty() ? ""
            : "\nWarning: " + r.getWarning());
  }

  static String describe(JwtSigningRole r) {
    StringBuilder b = new StringBuilder()
        .append("Name:              ").append(r.getName()).append('\n')
        .append("Key:               ").append(r.getKey()).append('\n')
        .append("Allowed audiences: ").append(String.join(", ", r.getAllowedAudiencesList())).append('\n')
        .append(r.getAllowedSubjectsCount() > 0
            ? "Allowed subjects:  " + String.join(", ", r.getAllowedSubjectsList())
            : "Subject:           " + r.getSubjectTemplate()).append('\n');
    r.getAllowedClaimsMap().forEach((name, globs) -> b.append("Claim ").append(name).append(":  ")
        .append(String.join(", ", globs.getGlobsList())).append('\n'));
    return b.append("Max TTL:           ").append(Durations.toString(r.getMaxTtl()))
        .append(r.getAllowFutureNbf() ? "\nCallers may set nbf" : "").toString();
  }

  /** Options a key's settings share between create-key and update-key. */
  abstract static class KeyTimes extends ClientCommand {
    @Option(names = "--publish-ahead", converter = DurationConverter.class, description = "How long a new version"
        + " is in the JWKS before it signs (default 1h): at least as long as verifiers cache the JWKS.")
    Duration publishAhead;

    @Option(names = "--rotation-period", converter = DurationConverter.class, description = "Scheduled rotation"
        + " (e.g. 720h; longer than --publish-ahead); default none. 0s turns it off (update-key).")
    Duration rotationPeriod;

    @Option(names = "--max-token-ttl", converter = DurationConverter.class, description = "Longest token"
        + " lifetime (default 15m, at most 24h).")
    Duration maxTokenTtl;

    @Option(names = "--skew", converter = DurationConverter.class, description = "Clock skew allowed when"
        + " verifying (default 60s, at most 5m).")
    Duration skew;
  }

  @Command(name = "create-key", description = "Create a key: its first version is published now and signs after"
      + " --publish-ahead.")
  static final class CreateKey extends KeyTimes {
    @Parameters(paramLabel = "NAME")
    String name;

    @Option(names = "--algorithm", description = "ES256 (default), ES384, EdDSA, RS256, PS256.")
    String algorithm = "ES256";

    @Option(names = "--rsa-bits", description = "RS256/PS256: 2048 (default), 3072, 4096.")
    int rsaBits;

    @Option(names = "--software", description = "Software keys wrapped by the KEK instead of HSM key pairs.")
    boolean software;

    @Option(names = "--issuer", required = true, description = "The tokens' iss, e.g. https://kms.example/v1/jwt/NAME"
        + " (Keywarden serves ISSUER/.well-known/jwks.json and openid-configuration at /v1/jwt/NAME/…).")
    String issuer;

    @Override
    Integer run() throws Exception {
      JwtKeyConfig.Builder c = JwtKeyConfig.newBuilder().setName(name).setAlgorithm(algorithm(algorithm))
          .setRsaBits(rsaBits).setSoftware(software).setIssuer(issuer);
      if (publishAhead != null) {
        c.setPublishAhead(proto(publishAhead));
      }
      if (rotationPeriod != null) {
        c.setRotationPeriod(proto(rotationPeriod));
      }
      if (maxTokenTtl != null) {
        c.setMaxTokenTtl(proto(maxTokenTtl));
      }
      if (skew != null) {
        c.setSkew(proto(skew));
      }
      CreateJwtKeyResponse r = jwt().createJwtKey(CreateJwtKeyRequest.newBuilder().setConfig(c).build());
      print(r, describe(r.getKey()));
      return 0;
    }
  }

  @Command(name = "update-key", description = "Change a key's issuer or times (not its algorithm).")
  static final class UpdateKey extends KeyTimes {
    @Parameters(paramLabel = "NAME")
    String name;

    @Option(names = "--issuer", description = "A new issuer URL.")
    String issuer = "";

    @Override
    Integer run() throws Exception {
      UpdateJwtKeyRequest.Builder b = UpdateJwtKeyRequest.newBuilder().setName(name).setIssuer(issuer);
      if (publishAhead != null) {
        b.setPublishAhead(proto(publishAhead));
      }
      if (rotationPeriod != null) {
        b.setRotationPeriod(proto(rotationPeriod));
      }
      if (maxTokenTtl != null) {
        b.setMaxTokenTtl(proto(maxTokenTtl));
      }
      if (skew != null) {
        b.setSkew(proto(skew));
      }
      UpdateJwtKeyResponse r = jwt().updateJwtKey(b.build());
      print(r, describe(r.getKey()));
      return 0;
    }
  }

  @Command(name = "key", description = "Show a key and its versions' states.")
  static final class Key extends ClientCommand {
    @Parameters(paramLabel = "NAME")
    String name;

    @Override
    Integer run() throws Exception {
      GetJwtKeyResponse r = jwt().getJwtKey(GetJwtKeyRequest.newBuilder().setName(name).build());
      print(r, describe(r.getKey()));
      return 0;
    }
  }

  @Command(name = "keys", description = "List the keys.")
  static final class Keys extends ClientCommand {
    @Mixin
    PageOptions page;

    @Override
    Integer run() throws Exception {
      ListJwtKeysResponse r = jwt().listJwtKeys(ListJwtKeysRequest.newBuilder()
          .setLimit(page.limit).setAfter(page.after).build());
      print(r, pageText(r.getNamesList(), r.getNextAfter()));
      return 0;
    }
  }

  @Command(name = "delete-key", description = "Delete a key and destroy its private keys; its tokens stop verifying.")
  static final class DeleteKey extends ClientCommand {
    @Parameters(paramLabel = "NAME")
    String name;

    @Override
    Integer run() throws Exception {
      DeleteJwtKeyResponse r = jwt().deleteJwtKey(DeleteJwtKeyRequest.newBuilder().setName(name).build());
      print(r, "Deleted; destroyed kids: " + r.getDestroyedKidsList()
          + (r.getProblemsCount() > 0 ? "\nNot destroyed: " + String.join("\n", r.getProblemsList()) : ""));
      return 0;
    }
  }

  @Command(name = "rotate", description = "Rotate a key: a new version is published now and signs after publish_ahead"
      + " (--now: at once, an emergency).")
  static final class Rotate extends ClientCommand {
    @Parameters(paramLabel = "NAME")
    String name;

    @Option(names = "--now", description = "Sign with the new version at once; verifiers holding an older JWKS may"
        + " refuse its tokens until they fetch it again.")
    boolean now;

    @Override
    Integer run() throws Exception {
      RotateJwtKeyResponse r = jwt().rotateJwtKey(RotateJwtKeyRequest.newBuilder().setName(name).setNow(now).build());
      print(r, describe(r.getRotation()));
      return 0;
    }
  }

  @Command(name = "revoke-version", description = "Revoke a compromised version by kid: out of the JWKS at once;"
      + " if it was signing, another version signs at once.")
  static final class RevokeVersion extends ClientCommand implements CommandTree.DashedValues {
    @Parameters(index = "0", paramLabel = "NAME")
    String name;

    @Parameters(index = "1", paramLabel = "KID")
    String kid;

    @Override
    Integer run() throws Exception {
      RevokeJwtKeyVersionResponse r = jwt().revokeJwtKeyVersion(RevokeJwtKeyVersionRequest.newBuilder()
          .setName(name).setKid(kid).build());
      print(r, "Version " + r.getVersion() + " (kid " + r.getKid() + ") revoked at "
          + Timestamps.toString(r.getRevokedAt()) + (r.hasReplacement() ? "\n" + describe(r.getReplacement())
              : r.getWasActive() ? "\nNo replacement could be made: rotate the key" : ""));
      return 0;
    }
  }

  @Command(name = "create-role", description = "Create or replace a role: what callers may put in the tokens a key"
      + " signs.")
  static final class CreateRole extends ClientCommand {
    @Parameters(paramLabel = "NAME")
    String name;

    @Option(names = "--key", required = true, description = "The JWT key the role signs with.")
    String key;

    @Option(names = "--allowed-audiences", split = ",", required = true, description = "Globs for aud; at least"
        + " one. With exactly one, without '*', it is the aud when the caller sets none.")
    List<String> audiences = new ArrayList<>();

    @Option(names = "--subject-template", description = "The sub the server sets (default {{identity}}).")
    String subjectTemplate = "";

    @Option(names = "--allowed-subjects", split = ",", description = "Globs the caller's sub must match (instead of"
        + " --subject-template).")
    List<String> subjects = new ArrayList<>();

    @Option(names = "--allowed-claim", description = "NAME=GLOB[,GLOB…]: a custom claim callers may set; repeat.")
    List<String> claims = new ArrayList<>();

    @Option(names = "--max-ttl", converter = DurationConverter.class, description = "Longest token lifetime"
        + " (default 15m; at most the key's max token TTL).")
    Duration maxTtl;

    @Option(names = "--allow-future-nbf", description = "Let callers set nbf.")
    boolean allowFutureNbf;

    @Override
    Integer run() throws Exception {
      JwtSigningRole.Builder b = JwtSigningRole.newBuilder().setName(name).setKey(key)
          .addAllAllowedAudiences(audiences).setSubjectTemplate(subjectTemplate).addAllAllowedSubjects(subjects)
          .setAllowFutureNbf(allowFutureNbf);
      for (String c : claims) {
        int eq = c.indexOf('=');
        if (eq <= 0) {
          throw new IllegalArgumentException("--allowed-claim " + c + ": give NAME=GLOB[,GLOB…]");
        }
        b.putAllowedClaims(c.substring(0, eq), JwtClaimGlobs.newBuilder()
            .addAllGlobs(List.of(c.substring(eq + 1).split(","))).build());
      }
      if (maxTtl != null) {
        b.setMaxTtl(proto(maxTtl));
      }
      WriteJwtSigningRoleResponse r = jwt().writeJwtSigningRole(WriteJwtSigningRoleRequest.newBuilder().setRole(b)
          .build());
      print(r, describe(r.getRole()));
      return 0;
    }
  }

  @Command(name = "role", description = "Show a role.")
  static final class Role extends ClientCommand {
    @Parameters(paramLabel = "NAME")
    String name;

    @Override
    Integer run() throws Exception {
      GetJwtSigningRoleResponse r = jwt().getJwtSigningRole(GetJwtSigningRoleRequest.newBuilder().setName(name)
          .build());
      print(r, describe(r.getRole()));
      return 0;
    }
  }

  @Command(name = "roles", description = "List the roles.")
  static final class Roles extends ClientCommand {
    @Mixin
    PageOptions page;

    @Override
    Integer run() throws Exception {
      ListJwtSigningRolesResponse r = jwt().listJwtSigningRoles(ListJwtSigningRolesRequest.newBuilder()
          .setLimit(page.limit).setAfter(page.after).build());
      print(r, pageText(r.getNamesList(), r.getNextAfter()));
      return 0;
    }
  }

  @Command(name = "delete-role", description = "Delete a role; tokens it signed stay valid until they expire.")
  static final class DeleteRole extends ClientCommand {
    @Parameters(paramLabel = "NAME")
    String name;

    @Override
    Integer run() throws Exception {
      DeleteJwtSigningRoleResponse r = jwt().deleteJwtSigningRole(DeleteJwtSigningRoleRequest.newBuilder()
          .setName(name).build());
      print(r, "Deleted.");
      return 0;
    }
  }

  @Command(name = "sign", description = "Sign JWTs: prints one token per line. Claims from --claims (a JSON object,"
      + " or an array of objects for several tokens; '-' reads standard input) and --sub/--aud/--claim.")
  static final class Sign extends ClientCommand {
    @Parameters(paramLabel = "KEY")
    String key;

    @Option(names = "--role", required = true)
    String role;

    @Option(names = "--claims", description = "JSON claims: {\"sub\":…} or [{…},{…}]; '-' for standard input,"
        + " @FILE for a file.")
    String claimsJson;

    @Option(names = "--sub", description = "The sub claim (where the role lets the caller choose).")
    String sub;

    @Option(names = "--aud", description = "An audience; repeat for several.")
    List<String> aud = new ArrayList<>();

    @Option(names = "--claim", description = "NAME=VALUE: a custom claim (a JSON value, or else a string); repeat.")
    List<String> claims = new ArrayList<>();

    @Option(names = "--ttl", converter = DurationConverter.class, description = "Token lifetime; default: the role's"
        + " max TTL.")
    Duration ttl;

    @Override
    Integer run() throws Exception {
      List<Struct> items = items();
      SignJwtRequest.Builder b = SignJwtRequest.newBuilder().setKey(key).setRole(role);
      items.forEach(s -> b.addItems(SignJwtItem.newBuilder().setClaims(s)));
      if (ttl != null) {
        b.setTtl(proto(ttl));
      }
      SignJwtResponse r = jwt().signJwt(b.build());
      boolean failed = false;
      if (json()) {
        printJson(r);
      }
      for (int i = 0; i < r.getResultsCount(); i++) {
        SignJwtResult x = r.getResults(i);
        if (x.hasError()) {
          failed = true;
          err().println("Error: " + (r.getResultsCount() > 1 ? "item " + i + ": " : "") + x.getError().getMessage()
              + " (" + x.getError().getCode() + ")");
        } else if (!json()) {
          out().println(x.getJwt());
        }
      }
      out().flush();
      err().flush();
      return failed ? KeywardenCommand.EXIT_ERROR : 0;
    }

    private List<Struct> items() throws Exception {
      List<Struct> items = new ArrayList<>();
      if (claimsJson != null) {
        String text = claimsJson.equals("-") ? new String(System.in.readNBytes(MAX_READ), StandardCharsets.UTF_8)
            : claimsJson.startsWith("@") ? Files.readString(Path.of(claimsJson.substring(1)), StandardCharsets.UTF_8)
            : claimsJson;
        Value v = parseJson(text, "--claims");
        if (v.hasListValue()) {
          for (Value e : v.getListValue().getValuesList()) {
            if (!e.hasStructValue()) {
              throw new IllegalArgumentException("--claims: every element of the array must be a JSON object");
            }
            items.add(e.getStructValue());
          }
        } else if (v.hasStructValue()) {
          items.add(v.getStructValue());
        } else {
          throw new IllegalArgumentException("--claims: give a JSON object, or an array of objects");
        }
      } else {
        items.add(Struct.getDefaultInstance());
      }
      Map<String, Value> extra = new LinkedHashMap<>();
      if (sub != null) {
        extra.put("sub", Value.newBuilder().setStringValue(sub).build());
      }
      if (!aud.isEmpty()) {
        extra.put("aud", aud.size() == 1 ? Value.newBuilder().setStringValue(aud.get(0)).build()
            : Value.newBuilder().setListValue(ListValue.newBuilder().addAllValues(aud.stream()
                .map(a -> Value.newBuilder().setStringValue(a).build()).toList())).build());
      }
      for (String c : claims) {
        int eq = c.indexOf('=');
        if (eq <= 0) {
          throw new IllegalArgumentException("--claim " + c + ": give NAME=VALUE");
        }
        String raw = c.substring(eq + 1);
        Value value;
        try {
          value = parseJson(raw, "--claim");
        } catch (IllegalArgumentException notJson) {
          value = Value.newBuilder().setStringValue(raw).build();
        }
        extra.put(c.substring(0, eq), value);
      }
      if (extra.isEmpty()) {
        return items;
      }
      return items.stream().map(s -> s.toBuilder().putAllFields(extra).build()).toList();
    }

    private static Value parseJson(String text, String option) {
      Value.Builder v = Value.newBuilder();
      try {
        JsonFormat.parser().merge(text, v);
      } catch (com.google.protobuf.InvalidProtocolBufferException | RuntimeException e) {
        throw new IllegalArgumentException(option + ": not JSON: " + e.getMessage());
      }
      return v.build();
    }
  }

  /** A JSON value as Jackson writes it, whole numbers as integers (exp: 1764528000, not protobuf's 1.764528E9). */
  static Object plain(Value v) {
    return switch (v.getKindCase()) {
      case BOOL_VALUE -> v.getBoolValue();
      case STRING_VALUE -> v.getStringValue();
      case NUMBER_VALUE -> v.getNumberValue() == Math.rint(v.getNumberValue())
          && Math.abs(v.getNumberValue()) < 9.0e15 ? (Object) (long) v.getNumberValue() : (Object) v.getNumberValue();
      case LIST_VALUE -> v.getListValue().getValuesList().stream().map(JwtCommand::plain).toList();
      case STRUCT_VALUE -> {
        Map<String, Object> m = new LinkedHashMap<>();
        v.getStructValue().getFieldsMap().forEach((k, e) -> m.put(k, plain(e)));
        yield m;
      }
      default -> null;
    };
  }

  @Command(name = "verify", description = "Verify a JWT against a key's published versions, issuer, times (with the"
      + " key's skew) and --audience; prints valid and the claims, or invalid and why; exit 0 or 1.")
  static final class Verify extends ClientCommand {
    @Parameters(index = "0", paramLabel = "KEY")
    String key;

    @Parameters(index = "1", paramLabel = "JWT", arity = "0..1", description = "The token; '-' or absent: standard"
        + " input.")
    String jwtArgument;

    @Option(names = "--audience", description = "The token's aud must contain it.")
    String audience = "";

    @Override
    Integer run() throws Exception {
      String jwt = jwtArgument == null || jwtArgument.equals("-")
          ? new String(System.in.readNBytes(MAX_READ), StandardCharsets.UTF_8).strip() : jwtArgument;
      VerifyJwtResponse r = jwt().verifyJwt(VerifyJwtRequest.newBuilder().setKey(key).setJwt(jwt)
          .setAudience(audience).build());
      print(r, r.getValid() ? "valid (kid " + r.getKid() + ", version " + r.getVersion() + ")\n"
          + new com.fasterxml.jackson.databind.ObjectMapper().writerWithDefaultPrettyPrinter()
              .writeValueAsString(plain(Value.newBuilder().setStructValue(r.getClaims()).build()))
          : "invalid: " + r.getReason());
      return r.getValid() ? 0 : 1;
    }
  }
}
