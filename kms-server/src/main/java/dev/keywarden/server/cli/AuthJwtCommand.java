package dev.keywarden.server.cli;

import com.google.protobuf.util.Durations;
import dev.keywarden.api.v1.*;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * `keywarden auth jwt …`: jwt roles.
 * Its subcommands are listed in {@link CommandTree}.
 */
@Command(name = "jwt", description = "Write, read, list and delete jwt roles (JWT/OIDC workload login).")
final class AuthJwtCommand {
  private static final Map<String, JwtAlgorithm> ALGORITHMS = Map.of("ES256", JwtAlgorithm.JWT_ALGORITHM_ES256,
      "ES384", JwtAlgorithm.JWT_ALGORITHM_ES384, "EDDSA", JwtAlgorithm.JWT_ALGORITHM_EDDSA,
      "RS256", JwtAlgorithm.JWT_ALGORITHM_RS256, "PS256", JwtAlgorithm.JWT_ALGORITHM_PS256);

  /** Exactly one place the issuer's keys come from. */
  static final class KeySource {
    @Option(names = "--jwks-url", description = "The issuer's JWKS URL (https; http only to loopback).")
    String jwksUrl;

    @Option(names = "--discovery-url", description = "The OIDC issuer URL; its /.well-known/openid-configuration"
        + " gives the JWKS URL.")
    String discoveryUrl;

    @Option(names = "--jwks-file", paramLabel = "FILE", description = "A JWK Set document of the issuer's public keys.")
    Path jwksFile;

    @Option(names = "--public-key-file", paramLabel = "FILE", description = "A PEM public key (repeat).")
    List<Path> pemFiles = new ArrayList<>();
  }

  @Command(name = "write-role", description = "Create or replace a jwt role.")
  static final class WriteRole extends ClientCommand {
    @Parameters(index = "0", paramLabel = "NAME")
    String name;

    @Option(names = "--issuer", required = true, description = "The exact \"iss\" of the JWTs.")
    String issuer;

    @ArgGroup(exclusive = false, multiplicity = "1")
    KeySource keys;

    @Option(names = "--ca-cert-file", paramLabel = "FILE",
        description = "PEM CA certificates to trust for fetching the keys (default: the system trust store).")
    Path caCertFile;

    @Option(names = "--audience", required = true, description = "An audience the JWT's \"aud\" must name (repeat).")
    List<String> audiences = new ArrayList<>();

    @Option(names = "--subject", description = "A glob the JWT's \"sub\" must match ('*': any run of characters).")
    String subject = "";

    @Option(names = "--claim", paramLabel = "PATH=GLOB", description = "A claim the JWT must carry (repeat; the"
        + " same PATH again adds an accepted value). PATH is a claim name, or a JSON Pointer starting with '/'.")
    List<String> claims = new ArrayList<>();

    @Option(names = "--algorithm", description = "An accepted algorithm: ES256, ES384, EdDSA, RS256, PS256 (repeat;"
        + " default all five).")
    List<String> algorithms = new ArrayList<>();

    @Option(names = "--clock-skew", converter = DurationConverter.class, description = "Default 60s; at most 5m.")
    Duration clockSkew;

    @Option(names = "--policy", required = true, split = ",", description = "Policy of the login tokens (repeat).")
    List<String> policies = new ArrayList<>();

    @Option(names = "--ttl", converter = DurationConverter.class,
        description = "Login token lifetime (default 1h, at most 24h), cut to the JWT's exp.")
    Duration ttl;

    @Option(names = "--outlive-jwt", description = "Let the token live its full --ttl past the JWT's exp.")
    boolean outliveJwt;

    @Override
    Integer run() throws Exception {
      JwtRole.Builder role = JwtRole.newBuilder().setIssuer(issuer).addAllBoundAudiences(audiences)
          .setBoundSubject(subject).addAllPolicies(policies).setTokenOutlivesJwt(outliveJwt);
      int sources = (keys.jwksUrl != null ? 1 : 0) + (keys.discoveryUrl != null ? 1 : 0)
          + (keys.jwksFile != null || !keys.pemFiles.isEmpty() ? 1 : 0);
      if (sources != 1) {
        throw new IOException("give one key source: --jwks-url, --discovery-url, or --jwks-file/--public-key-file");
      }
      if (keys.jwksUrl != null) {
        role.setJwksUrl(keys.jwksUrl);
      } else if (keys.discoveryUrl != null) {
        role.setOidcDiscoveryUrl(keys.discoveryUrl);
      } else {
        StaticKeys.Builder s = StaticKeys.newBuilder();
        if (keys.jwksFile != null) {
          s.setJwks(read(keys.jwksFile));
        }
        for (Path p : keys.pemFiles) {
          s.addPublicKeyPems(read(p));
        }
        role.setStaticKeys(s);
      }
      if (caCertFile != null) {
        role.setJwksCaPem(read(caCertFile));
      }
      Map<String, BoundClaim.Builder> bound = new LinkedHashMap<>();
      for (String c : claims) {
        int eq = c.indexOf('=');
        if (eq <= 0) {
          throw new IOException("--claim takes PATH=GLOB, e.g. /kubernetes.io/namespace=payments");
        }
        bound.computeIfAbsent(c.substring(0, eq), p -> BoundClaim.newBuilder().setPath(p))
            .addValues(c.substring(eq + 1));
      }
      bound.values().forEach(role::addBoundClaims);
      for (String a : algorithms) {
        String key = a.toUpperCase(Locale.ROOT);
        JwtAlgorithm alg = ALGORITHMS.get(key);
        if (alg == null) {
          throw new IOException("--algorithm " + a + " is not accepted: choose from ES256, ES384, EdDSA, RS256,"
              + " PS256" + (key.equals("NONE") || key.startsWith("HS")
                  ? " (\"none\" and HMAC algorithms are never accepted)" : ""));
        }
        role.addAllowedAlgorithms(alg);
      }
      if (clockSkew != null) {
        role.setClockSkew(Durations.fromSeconds(clockSkew.toSeconds()));
      }
      if (ttl != null) {
        role.setTokenTtl(Durations.fromSeconds(ttl.toSeconds()));
      }
      WriteJwtRoleResponse r = jwtAuth().writeJwtRole(WriteJwtRoleRequest.newBuilder().setName(name)
          .setRole(role).build());
      print(r, "JWT role '" + name + "' written.");
      return 0;
    }

    private static String read(Path file) throws IOException {
      if (!Files.isReadable(file)) {
        throw new IOException("cannot read " + file);
      }
      return Files.readString(file, StandardCharsets.UTF_8);
    }
  }

  @Command(name = "read-role", description = "Describe a jwt role.")
  static final class ReadRole extends ClientCommand {
    @Parameters(index = "0", paramLabel = "NAME")
    String name;

    @Override
    Integer run() throws Exception {
      GetJwtRoleResponse r = jwtAuth().getJwtRole(GetJwtRoleRequest.newBuilder().setName(name).build());
      JwtRole role = r.getRole();
      List<String> claims = new ArrayList<>();
      role.getBoundClaimsList().forEach(c -> claims.add(c.getPath() + "=" + String.join("|", c.getValuesList())));
      print(r, "Name:       " + r.getName() + "\n"
          + "Issuer:     " + role.getIssuer() + "\n"
          + "Keys:       " + (role.hasJwksUrl() ? role.getJwksUrl()
              : role.hasOidcDiscoveryUrl() ? "discovered at " + role.getOidcDiscoveryUrl() : "static") + "\n"
          + "Audiences:  " + String.join(", ", role.getBoundAudiencesList()) + "\n"
          + "Subject:    " + (role.getBoundSubject().isEmpty() ? "(any)" : role.getBoundSubject()) + "\n"
          + "Claims:     " + (claims.isEmpty() ? "(none)" : String.join(", ", claims)) + "\n"
          + "Algorithms: " + String.join(", ", role.getAllowedAlgorithmsList().stream()
              .map(a -> a.name().replace("JWT_ALGORITHM_", "").replace("EDDSA", "EdDSA")).toList()) + "\n"
          + "Clock skew: " + role.getClockSkew().getSeconds() + "s\n"
          + "Policies:   " + String.join(", ", role.getPoliciesList()) + "\n"
          + "Token TTL:  " + role.getTokenTtl().getSeconds() + "s"
          + (role.getTokenOutlivesJwt() ? " (may outlive the JWT)" : " (at most the JWT's own exp)"));
      return 0;
    }
  }

  @Command(name = "list-roles", description = "List jwt role names.")
  static final class ListRoles extends ClientCommand {
    @Mixin
    PageOptions page;

    @Override
    Integer run() throws Exception {
      ListJwtRolesResponse r = jwtAuth().listJwtRoles(ListJwtRolesRequest.newBuilder()
          .setLimit(page.limit).setAfter(page.after).build());
      print(r, pageText(r.getNamesList(), r.getNextAfter()));
      return 0;
    }
  }

  @Command(name = "delete-role", description = "Delete a jwt role (tokens it gave out stay valid).")
  static final class DeleteRole extends ClientCommand {
    @Parameters(index = "0", paramLabel = "NAME")
    String name;

    @Override
    Integer run() throws Exception {
      DeleteJwtRoleResponse r = jwtAuth().deleteJwtRole(DeleteJwtRoleRequest.newBuilder().setName(name).build());
      print(r, "JWT role '" + name + "' deleted.");
      return 0;
    }
  }
}
