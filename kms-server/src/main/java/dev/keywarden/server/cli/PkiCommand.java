package dev.keywarden.server.cli;

import com.google.protobuf.util.Durations;
import com.google.protobuf.util.Timestamps;
import dev.keywarden.api.v1.*;
import dev.keywarden.server.grpc.ApiEnums;
import dev.keywarden.server.grpc.PkiRoleMessages;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.TypeConversionException;

/**
 * `keywarden pki …`: a certificate authority whose CA keys are in the HSM.
 * Its subcommands are listed in {@link CommandTree}.
 */
@Command(name = "pki", description = "Run a certificate authority: issuers, roles, certificates, revocation.")
final class PkiCommand {

  static com.google.protobuf.Duration duration(Duration d) {
    return Durations.fromSeconds(d.getSeconds());
  }

  static String describe(Issuer i) {
    StringBuilder b = new StringBuilder("Issuer " + i.getId() + (i.getIsDefault() ? " (default)" : "") + "\n")
        .append("  state:     ").append(stateName(i.getState())).append("\n")
        .append("  subject:   ").append(i.getSubject()).append("\n")
        .append("  key type:  ").append(keyTypeName(i.getKeyPairType(), i.getKeyType())).append("\n")
        .append("  parent:    ").append(i.getExternal() ? "(external CA)"
            : i.getParentId().isEmpty() ? "(root)" : i.getParentId());
    if (i.hasNotAfter()) {
      b.append("\n  not after: ").append(Timestamps.toString(i.getNotAfter()));
    }
    if (!i.getReplaces().isEmpty()) {
      b.append("\n  replaces:  ").append(i.getReplaces());
    }
    if (!i.getReplacedBy().isEmpty()) {
      b.append("\n  replaced by: ").append(i.getReplacedBy());
    }
    if (i.hasIssuedUntil()) {
      b.append("\n  issued until: ").append(Timestamps.toString(i.getIssuedUntil()));
    }
    if (i.hasRevokedAt()) {
      b.append("\n  REVOKED at: ").append(Timestamps.toString(i.getRevokedAt())).append(" (signs nothing new)");
    }
    return b.toString();
  }

  static String stateName(IssuerState s) {
    return s.name().replace("ISSUER_STATE_", "").toLowerCase(Locale.ROOT);
  }

  /** The CSR of a pending issuer on stdout; what to do with it on stderr, so the CSR can be redirected to a file. */
  static void printCsr(ClientCommand c, Issuer i) {
    c.out().print(i.getCsrPem());
    c.out().flush();
    c.err().println("Issuer " + i.getId() + " is pending. Have the external CA sign this CSR (as a CA: "
        + "basicConstraints=critical,CA:true), then run: keywarden pki set-signed-intermediate " + i.getId()
        + " --cert SIGNED.pem [--chain CA-CHAIN.pem]");
    c.err().flush();
  }

  static String reasonName(int code) {
    // ApiEnums is touched only here and by the commands that need it: its tables load classes from every engine,
    // which commands such as `pki sign-csr` would otherwise pay for at start-up.
    List<String> names = ApiEnums.REASON_NAMES;
    return code >= 0 && code < names.size() && !names.get(code).isEmpty() ? names.get(code) : String.valueOf(code);
  }

  /** The API's key pair type for a name the user typed (ec-p256, ecdsa-p256, rsa-3072, …); unspecified for none. */
  static KeyPairType keyPairType(String name) {
    return name == null || name.isEmpty() ? KeyPairType.KEY_PAIR_TYPE_UNSPECIFIED
        : ApiEnums.KEY_PAIR_TYPE.protoOf(name);
  }

  /** A key pair type's name as users type it; {@code legacy} (the deprecated string field) from a 0.1 server. */
  static String keyTypeName(KeyPairType value, String legacy) {
    return value == KeyPairType.KEY_PAIR_TYPE_UNSPECIFIED || value == KeyPairType.UNRECOGNIZED ? legacy
        : ApiEnums.KEY_PAIR_TYPE.nameOf(value, "key_pair_type");
  }

  /** A CRLReason given as a name (key-compromise, keyCompromise) or a number. */
  static final class ReasonConverter implements picocli.CommandLine.ITypeConverter<Integer> {
    @Override
    public Integer convert(String value) {
      if (value.matches("\\d+")) {
        return Integer.parseInt(value);
      }
      String norm = value.replaceAll("([a-z])([A-Z])", "$1-$2").replace('_', '-').toLowerCase(Locale.ROOT);
      int i = ApiEnums.REASON_NAMES.indexOf(norm);
      if (i < 0 || norm.isEmpty()) {
        throw new TypeConversionException("unknown reason '" + value + "'; known: "
            + String.join(", ", ApiEnums.REASON_NAMES.stream().filter(r -> !r.isEmpty()).toList()) + ", or a number");
      }
      return i;
    }
  }

  @Command(name = "generate-root", description = "Generate a root CA (key pair in the HSM).")
  static final class GenerateRoot extends ClientCommand {
    @Option(names = "--common-name", required = true)
    String commonName;

    @Option(names = "--key-type", description = "ec-p256 (default), ec-p384, ed25519, rsa-2048, rsa-3072, rsa-4096.")
    String keyType = "";

    @Option(names = "--ttl", converter = DurationConverter.class, description = "e.g. 87600h (the default).")
    Duration ttl;

    @Option(names = "--base-url", description = "Base for CRL, OCSP and CA-issuers URLs.")
    String baseUrl = "";

    @Override
    Integer run() throws Exception {
      GenerateRootRequest.Builder b = GenerateRootRequest.newBuilder().setCommonName(commonName)
          .setKeyPairType(keyPairType(keyType))
          .setBaseUrl(baseUrl);
      if (ttl != null) {
        b.setTtl(duration(ttl));
      }
      GenerateRootResponse r = pki().generateRoot(b.build());
      print(r, describe(r.getIssuer()));
      return 0;
    }
  }

  @Command(name = "generate-intermediate", description = "Generate an intermediate CA signed by an issuer, or with"
      + " --external a CSR for a CA outside Keywarden to sign (printed as PEM; the issuer id goes to stderr).")
  static final class GenerateIntermediate extends ClientCommand {
    @Option(names = "--common-name", required = true)
    String commonName;

    @Option(names = "--issuer", description = "The signing issuer's id; default: the default issuer.")
    String issuer = "";

    @Option(names = "--key-type", description = "ec-p256 (default), ec-p384, ed25519, rsa-2048, rsa-3072, rsa-4096.")
    String keyType = "";

    @Option(names = "--ttl", converter = DurationConverter.class, description = "e.g. 43800h (the default).")
    Duration ttl;

    @Option(names = "--external", description = "Make a CSR for an external CA; the issuer is pending until"
        + " set-signed-intermediate.")
    boolean external;

    @Option(names = "--base-url", description = "Base for CRL, OCSP and CA-issuers URLs; default: the parent's"
        + " (none when external).")
    String baseUrl = "";

    @Option(names = "--default", description = "Make it the default issuer (once its certificate is set).")
    boolean makeDefault;

    @Override
    Integer run() throws Exception {
      GenerateIntermediateRequest.Builder b = GenerateIntermediateRequest.newBuilder().setCommonName(commonName)
          .setKeyPairType(keyPairType(keyType)).setParentIssuerId(issuer).setExternal(external).setBaseUrl(baseUrl)
          .setSetDefault(makeDefault);
      if (ttl != null) {
        b.setTtl(duration(ttl));
      }
      GenerateIntermediateResponse r = pki().generateIntermediate(b.build());
      if (external && !json()) {
        printCsr(this, r.getIssuer());
      } else {
        print(r, describe(r.getIssuer()));
      }
      return 0;
    }
  }

  @Command(name = "set-signed-intermediate", description = "Set the certificate an external CA signed for a pending"
      + " intermediate; it becomes active.")
  static final class SetSignedIntermediate extends ClientCommand {
    @Parameters(paramLabel = "ISSUER_ID")
    String issuerId;

    @Option(names = "--cert", required = true, description = "The signed certificate (PEM).")
    Path cert;

    @Option(names = "--chain", description = "The external CA's certificates (PEM, one file, the one that signed"
        + " the intermediate first), served with the issuer's chain.")
    Path chain;

    @Override
    Integer run() throws Exception {
      SetSignedIntermediateRequest.Builder b = SetSignedIntermediateRequest.newBuilder().setIssuerId(issuerId)
          .setCertificatePem(Files.readString(cert, StandardCharsets.US_ASCII));
      if (chain != null) {
        b.addChainPem(Files.readString(chain, StandardCharsets.US_ASCII));
      }
      SetSignedIntermediateResponse r = pki().setSignedIntermediate(b.build());
      print(r, describe(r.getIssuer()));
      return 0;
    }
  }

  @Command(name = "rotate-issuer", description = "Replace an issuer with a new key and certificate under a new id;"
      + " the old one is retired (still publishing its CRL and OCSP). An external issuer's successor prints a CSR.")
  static final class RotateIssuer extends ClientCommand {
    @Parameters(paramLabel = "ISSUER_ID")
    String issuerId;

    @Option(names = "--ttl", converter = DurationConverter.class,
        description = "Lifetime of the new certificate; default: the old one's.")
    Duration ttl;

    @Override
    Integer run() throws Exception {
      RotateIssuerRequest.Builder b = RotateIssuerRequest.newBuilder().setIssuerId(issuerId);
      if (ttl != null) {
        b.setTtl(duration(ttl));
      }
      RotateIssuerResponse r = pki().rotateIssuer(b.build());
      if (!r.getCsrPem().isEmpty() && !json()) {
        printCsr(this, r.getIssuer());
      } else {
        print(r, describe(r.getIssuer()) + "\n" + describe(r.getPrevious()));
      }
      return 0;
    }
  }

  @Command(name = "delete-issuer", description = "Delete a pending issuer that will never get its certificate, and"
      + " destroy its HSM key; a rotation it was the successor of is cancelled.")
  static final class DeleteIssuer extends ClientCommand {
    @Parameters(paramLabel = "ISSUER_ID")
    String issuerId;

    @Override
    Integer run() throws Exception {
      DeleteIssuerResponse r = pki().deleteIssuer(DeleteIssuerRequest.newBuilder().setId(issuerId).build());
      StringBuilder text = new StringBuilder("Issuer " + r.getId() + " deleted; ")
          .append(r.getKeyDestroyed() ? "its HSM key was destroyed." : r.getKeyNote() + ".");
      if (!r.getReplaces().isEmpty()) {
        text.append(" Issuer ").append(r.getReplaces()).append(" is no longer being rotated and can be rotated"
            + " again.");
      }
      print(r, text.toString());
      return 0;
    }
  }

  @Command(name = "issuer", description = "Show an issuer (and its CSR while pending).")
  static final class GetIssuer extends ClientCommand {
    @Parameters(paramLabel = "ISSUER_ID")
    String issuerId;

    @Override
    Integer run() throws Exception {
      GetIssuerResponse r = pki().getIssuer(GetIssuerRequest.newBuilder().setId(issuerId).build());
      String csr = r.getIssuer().getCsrPem();
      print(r, describe(r.getIssuer()) + (csr.isEmpty() ? "" : "\n" + csr.stripTrailing()));
      return 0;
    }
  }

  @Command(name = "issuers", description = "List the issuers.")
  static final class Issuers extends ClientCommand {
    @Override
    Integer run() throws Exception {
      ListIssuersResponse r = pki().listIssuers(ListIssuersRequest.getDefaultInstance());
      print(r, String.join("\n", r.getIssuersList().stream().map(PkiCommand::describe).toList()));
      return 0;
    }
  }

  @Command(name = "create-role", description = "Create or replace a role.")
  static final class CreateRole extends ClientCommand {
    @Parameters(paramLabel = "NAME")
    String name;

    @Option(names = "--allowed-domains", split = ",", description = "Domains names may be in, comma-separated.")
    List<String> allowedDomains = new ArrayList<>();

    @Option(names = "--allow-subdomains")
    boolean allowSubdomains;

    @Option(names = "--allow-bare-domains")
    boolean allowBareDomains;

    @Option(names = "--allow-glob")
    boolean allowGlob;

    @Option(names = "--allow-wildcard")
    boolean allowWildcard;

    @Option(names = "--allow-localhost")
    boolean allowLocalhost;

    @Option(names = "--allow-ip-sans")
    boolean allowIpSans;

    @Option(names = "--allowed-uri-sans", split = ",", description = "URI SAN globs, comma-separated.")
    List<String> allowedUriSans = new ArrayList<>();

    @Option(names = "--server", description = "Certificates for TLS servers.")
    boolean server;

    @Option(names = "--client", description = "Certificates for TLS clients.")
    boolean client;

    @Option(names = "--ttl", converter = DurationConverter.class)
    Duration ttl;

    @Option(names = "--max-ttl", converter = DurationConverter.class)
    Duration maxTtl;

    @Option(names = "--key-type", description = "Key type of issued keys: ec-p256 (default), ec-p384, ed25519, rsa-*.")
    String keyType;

    @Option(names = "--no-store", description = "Do not store issued certificates (they cannot be revoked).")
    boolean noStore;

    @Override
    Integer run() throws Exception {
      PkiRole.Builder role = PkiRole.newBuilder().setName(name).addAllAllowedDomains(allowedDomains)
          .setAllowSubdomains(allowSubdomains).setAllowBareDomains(allowBareDomains).setAllowGlobDomains(allowGlob)
          .setAllowWildcard(allowWildcard).setAllowLocalhost(allowLocalhost).setAllowIpSans(allowIpSans)
          .addAllAllowedUriSans(allowedUriSans).setServerFlag(server).setClientFlag(client).setNoStore(noStore);
      if (ttl != null) {
        role.setTtl(duration(ttl));
      }
      if (maxTtl != null) {
        role.setMaxTtl(duration(maxTtl));
      }
      if (keyType != null) {
        role.setKeyType(ApiEnums.KEY_PAIR_TYPE.protoOf(keyType));
      }
      WriteRoleResponse r = pki().writeRole(WriteRoleRequest.newBuilder().setName(name).setRole(role).build());
      print(r, PkiRoleMessages.json(r.getRole()));
      return 0;
    }
  }

  @Command(name = "role", description = "Show a role as JSON.")
  static final class GetRole extends ClientCommand {
    @Parameters(paramLabel = "NAME")
    String name;

    @Override
    Integer run() throws Exception {
      GetRoleResponse r = pki().getRole(GetRoleRequest.newBuilder().setName(name).build());
      print(r, PkiRoleMessages.json(r.getRole()));
      return 0;
    }
  }

  @Command(name = "roles", description = "List role names, a page at a time.")
  static final class Roles extends ClientCommand {
    @Mixin
    PageOptions page;

    @Override
    Integer run() throws Exception {
      ListRolesResponse r = pki().listRoles(ListRolesRequest.newBuilder()
          .setLimit(page.limit).setAfter(page.after).build());
      print(r, pageText(r.getNamesList(), r.getNextAfter()));
      return 0;
    }
  }

  @Command(name = "delete-role", description = "Delete a role.")
  static final class DeleteRole extends ClientCommand {
    @Parameters(paramLabel = "NAME")
    String name;

    @Override
    Integer run() throws Exception {
      DeleteRoleResponse r = pki().deleteRole(DeleteRoleRequest.newBuilder().setName(name).build());
      print(r, "Role '" + name + "' deleted.");
      return 0;
    }
  }

  @Command(name = "sign-csr", description = "Sign a CSR under a role; prints the certificate (PEM).")
  static final class SignCsr extends ClientCommand {
    @Parameters(paramLabel = "ROLE")
    String role;

    @Option(names = "--csr", required = true, description = "The CSR file (PEM).")
    Path csr;

    @Option(names = "--ttl", converter = DurationConverter.class)
    Duration ttl;

    @Option(names = "--issuer", description = "The issuer's id; default: the default issuer.")
    String issuer = "";

    @Override
    Integer run() throws Exception {
      SignCsrRequest.Builder b = SignCsrRequest.newBuilder().setRole(role).setIssuerId(issuer)
          .setCsrPem(Files.readString(csr, StandardCharsets.US_ASCII));
      if (ttl != null) {
        b.setTtl(duration(ttl));
      }
      SignCsrResponse r = pki().signCsr(b.build());
      print(r, r.getCertificatePem().stripTrailing());
      return 0;
    }
  }

  @Command(name = "issue", description = "Issue a certificate with a new key; prints certificate, chain, private key.")
  static final class Issue extends ClientCommand {
    @Parameters(paramLabel = "ROLE")
    String role;

    @Option(names = "--common-name", required = true)
    String commonName;

    @Option(names = "--alt-names", split = ",", description = "DNS SANs, comma-separated.")
    List<String> altNames = new ArrayList<>();

    @Option(names = "--ip-sans", split = ",", description = "IP SANs, comma-separated.")
    List<String> ipSans = new ArrayList<>();

    @Option(names = "--uri-sans", split = ",", description = "URI SANs, comma-separated.")
    List<String> uriSans = new ArrayList<>();

    @Option(names = "--ttl", converter = DurationConverter.class)
    Duration ttl;

    @Option(names = "--issuer", description = "The issuer's id; default: the default issuer.")
    String issuer = "";

    @Override
    Integer run() throws Exception {
      IssueRequest.Builder b = IssueRequest.newBuilder().setRole(role).setCommonName(commonName)
          .addAllAltNames(altNames).addAllIpSans(ipSans).addAllUriSans(uriSans).setIssuerId(issuer);
      if (ttl != null) {
        b.setTtl(duration(ttl));
      }
      IssueResponse r = pki().issue(b.build());
      print(r, (r.getCertificatePem() + String.join("", r.getChainPemList()) + r.getPrivateKeyPem()).stripTrailing());
      return 0;
    }
  }

  @Command(name = "revoke", description = "Revoke a stored certificate.")
  static final class Revoke extends ClientCommand {
    @Parameters(paramLabel = "SERIAL")
    String serial;

    @Option(names = "--reason", converter = ReasonConverter.class,
        description = "A name like key-compromise or superseded, or an RFC 5280 code; default unspecified.")
    Integer reason = 0;

    @Override
    Integer run() throws Exception {
      RevokeRequest.Builder b = RevokeRequest.newBuilder().setSerial(serial);
      if (ApiEnums.REVOCATION_REASON.engineValues().contains(reason)) {
        b.setCrlReason(ApiEnums.REVOCATION_REASON.proto(reason));
      } else {
        b.setReason(reason); // not a CRLReason: the server says so
      }
      RevokeResponse r = pki().revoke(b.build());
      print(r, "Certificate " + r.getRevocation().getSerial() + " revoked at "
          + Timestamps.toString(r.getRevocationTime()) + " (" + reasonName(r.getRevocation().getReason()) + ").");
      return 0;
    }
  }

  @Command(name = "cert", description = "Show a stored certificate and whether it is revoked.")
  static final class Cert extends ClientCommand {
    @Parameters(paramLabel = "SERIAL")
    String serial;

    @Override
    Integer run() throws Exception {
      GetCertificateResponse r = pki().getCertificate(GetCertificateRequest.newBuilder().setSerial(serial).build());
      String status = r.getRevoked()
          ? "revoked at " + Timestamps.toString(r.getRevocation().getRevocationTime()) + " ("
              + reasonName(r.getRevocation().getReason()) + ")"
          : "valid";
      print(r, "Serial:    " + r.getSerial() + "\nIssuer:    " + r.getIssuerId() + "\nNot after: "
          + Timestamps.toString(r.getNotAfter()) + "\nStatus:    " + status + "\n" + r.getCertificatePem().stripTrailing());
      return 0;
    }
  }

  @Command(name = "list", description = "List the serials of stored certificates, a page at a time.")
  static final class ListCerts extends ClientCommand {
    @Option(names = "--limit", description = "At most this many (1..10000; default 1000).")
    int limit;

    @Option(names = "--after", description = "Serials after this one: the previous page's last (printed as"
        + " 'next: --after SERIAL' when there are more).")
    String after = "";

    @Override
    Integer run() throws Exception {
      ListCertificatesResponse r = pki().listCertificates(ListCertificatesRequest.newBuilder().setLimit(limit)
          .setAfter(after).build());
      print(r, pageText(r.getSerialsList(), r.getNextAfter()));
      return 0;
    }
  }

  @Command(name = "revoked", description = "List an issuer's revocations by serial, a page at a time.")
  static final class Revoked extends ClientCommand {
    @Option(names = "--issuer", description = "The issuer's id; default: the default issuer (name it when reading"
        + " several pages).")
    String issuer = "";

    @Mixin
    PageOptions page;

    @Override
    Integer run() throws Exception {
      ListRevokedResponse r = pki().listRevoked(ListRevokedRequest.newBuilder().setIssuerId(issuer)
          .setLimit(page.limit).setAfter(page.after).build());
      print(r, pageText(r.getRevocationsList().stream().map(v -> v.getSerial() + " "
          + Timestamps.toString(v.getRevocationTime()) + " " + reasonName(v.getReason())).toList(), r.getNextAfter()));
      return 0;
    }
  }

  @Command(name = "tidy", description = "Remove expired certificates and their revocations, and retired issuers"
      + " whose certificates have all expired.")
  static final class Tidy extends ClientCommand {
    @Override
    Integer run() throws Exception {
      TidyResponse r = pki().tidy(TidyRequest.getDefaultInstance());
      print(r, "Removed " + r.getCertificatesRemoved() + " certificates and " + r.getRevocationsRemoved()
          + " revocations." + (r.getIssuersRemovedCount() == 0 ? ""
              : " Removed retired issuers: " + String.join(", ", r.getIssuersRemovedList()) + "."));
      return 0;
    }
  }
}
