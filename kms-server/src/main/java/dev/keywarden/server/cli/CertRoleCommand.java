package dev.keywarden.server.cli;

import com.google.protobuf.util.Durations;
import dev.keywarden.api.v1.CertRole;
import dev.keywarden.api.v1.DeleteCertRoleRequest;
import dev.keywarden.api.v1.DeleteCertRoleResponse;
import dev.keywarden.api.v1.GetCertRoleRequest;
import dev.keywarden.api.v1.GetCertRoleResponse;
import dev.keywarden.api.v1.ListCertRolesRequest;
import dev.keywarden.api.v1.ListCertRolesResponse;
import dev.keywarden.api.v1.WriteCertRoleRequest;
import dev.keywarden.api.v1.WriteCertRoleResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * `keywarden cert-role …`: which TLS client certificates authenticate, and with which policies.
 * Its subcommands are listed in {@link CommandTree}.
 */
@Command(name = "cert-role", description = "Write, read, list and delete cert roles (TLS client certificate auth).")
final class CertRoleCommand {

  @Command(name = "write", description = "Create or replace a cert role.")
  static final class Write extends ClientCommand {
    @Parameters(index = "0", paramLabel = "NAME", description = "The role's name.")
    String name;

    @Option(names = "--issuer", split = ",", description = "Keywarden PKI issuer id to trust (its rotation successors"
        + " too); repeat for several.")
    List<String> issuers = new ArrayList<>();

    @Option(names = "--ca-file", description = "PEM file of an external CA certificate to trust; repeat for several.")
    List<Path> caFiles = new ArrayList<>();

    @Option(names = "--allowed-common-name", split = ",", description = "Glob the subject CN must match.")
    List<String> commonNames = new ArrayList<>();

    @Option(names = "--allowed-dns-san", split = ",", description = "Glob some DNS SAN must match.")
    List<String> dnsSans = new ArrayList<>();

    @Option(names = "--allowed-uri-san", split = ",", description = "Glob some URI SAN (SPIFFE ID) must match.")
    List<String> uriSans = new ArrayList<>();

    @Option(names = "--policy", required = true, split = ",", description = "Policy the certificates get.")
    List<String> policies = new ArrayList<>();

    @Option(names = "--token-ttl", converter = DurationConverter.class,
        description = "Lifetime of login tokens, e.g. 1h (default 1h).")
    Duration tokenTtl;

    @Override
    Integer run() throws Exception {
      CertRole.Builder role = CertRole.newBuilder().setName(name).addAllTrustedIssuerIds(issuers)
          .addAllAllowedCommonNames(commonNames).addAllAllowedDnsSans(dnsSans).addAllAllowedUriSans(uriSans)
          .addAllPolicies(policies);
      for (Path f : caFiles) {
        role.addTrustedCaPems(Files.readString(f, StandardCharsets.US_ASCII));
      }
      if (tokenTtl != null) {
        role.setTokenTtl(Durations.fromMillis(tokenTtl.toMillis()));
      }
      WriteCertRoleResponse r = certAuth().writeCertRole(WriteCertRoleRequest.newBuilder().setRole(role).build());
      print(r, describe(r.getRole()));
      return 0;
    }
  }

  @Command(name = "read", description = "Show a cert role.")
  static final class Read extends ClientCommand {
    @Parameters(index = "0", paramLabel = "NAME", description = "The role's name.")
    String name;

    @Override
    Integer run() throws Exception {
      GetCertRoleResponse r = certAuth().getCertRole(GetCertRoleRequest.newBuilder().setName(name).build());
      print(r, describe(r.getRole()));
      return 0;
    }
  }

  @Command(name = "list", description = "List the cert roles.")
  static final class ListRoles extends ClientCommand {
    @Mixin
    PageOptions page;

    @Override
    Integer run() throws Exception {
      ListCertRolesResponse r = certAuth().listCertRoles(ListCertRolesRequest.newBuilder()
          .setLimit(page.limit).setAfter(page.after).build());
      print(r, pageText(r.getNamesList(), r.getNextAfter()));
      return 0;
    }
  }

  @Command(name = "delete", description = "Delete a cert role; its certificates stop authenticating at once.")
  static final class Delete extends ClientCommand {
    @Parameters(index = "0", paramLabel = "NAME", description = "The role's name.")
    String name;

    @Override
    Integer run() throws Exception {
      DeleteCertRoleResponse r = certAuth().deleteCertRole(DeleteCertRoleRequest.newBuilder().setName(name).build());
      print(r, "Deleted.");
      return 0;
    }
  }

  static String describe(CertRole r) {
    return "Name:                 " + r.getName() + "\n"
        + "Trusted issuers:      " + String.join(", ", r.getTrustedIssuerIdsList()) + "\n"
        + "Trusted external CAs: " + r.getTrustedCaPemsCount() + "\n"
        + "Allowed common names: " + String.join(", ", r.getAllowedCommonNamesList()) + "\n"
        + "Allowed DNS SANs:     " + String.join(", ", r.getAllowedDnsSansList()) + "\n"
        + "Allowed URI SANs:     " + String.join(", ", r.getAllowedUriSansList()) + "\n"
        + "Policies:             " + String.join(", ", r.getPoliciesList()) + "\n"
        + "Login token TTL:      " + Durations.toString(r.getTokenTtl());
  }
}
