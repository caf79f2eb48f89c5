package dev.keywarden.server.cli;

import com.google.protobuf.util.Durations;
import com.google.protobuf.util.Timestamps;
import dev.keywarden.api.v1.*;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
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

/**
 * `keywarden ssh …`: an OpenSSH certificate authority whose CA keys are in the HSM.
 * Its subcommands are listed in {@link CommandTree}.
 */
@Command(name = "ssh", description = "Run an OpenSSH CA: CA keys, roles, user and host certificates, the KRL.")
final class SshCommand {

  static String describe(SshCa ca) {
    StringBuilder b = new StringBuilder("SSH CA " + ca.getName());
    if (ca.getDefaultForCount() > 0) {
      b.append(" (default for ").append(String.join(", ", ca.getDefaultForList().stream().map(SshCommand::typeName)
          .toList())).append(")");
    }
    for (SshCaKey k : ca.getKeysList()) {
      b.append("\n  key ").append(k.getId()).append(" ")
          .append(PkiCommand.keyTypeName(k.getKeyPairType(), k.getKeyType())).append(" ").append(k.getFingerprint())
          .append(k.hasRetiredAt() ? "  retired " + Timestamps.toString(k.getRetiredAt())
              + (k.hasSignedUntil() ? ", published until " + Timestamps.toString(k.getSignedUntil()) : "")
              : "  (signs)");
      b.append("\n    ").append(k.getPublicKey());
    }
    return b.toString();
  }

  static String typeName(SshCertType t) {
    return t.name().replace("SSH_CERT_TYPE_", "").toLowerCase(Locale.ROOT);
  }

  static SshCertType certType(String name) {
    return switch (name.toLowerCase(Locale.ROOT)) {
      case "user" -> SshCertType.SSH_CERT_TYPE_USER;
      case "host" -> SshCertType.SSH_CERT_TYPE_HOST;
      default -> throw new picocli.CommandLine.TypeConversionException("'" + name + "' is not user or host");
    };
  }

  static String describe(SshCertificate c) {
    return "Serial:      " + c.getSerial() + "\n"
        + "CA:          " + c.getCa() + "\n"
        + "Key id:      " + c.getKeyId() + "\n"
        + "Principals:  " + String.join(", ", c.getPrincipalsList()) + "\n"
        + "Valid:       " + Timestamps.toString(c.getValidAfter()) + " to " + Timestamps.toString(c.getValidBefore())
        + (c.hasRevokedAt() ? "\nREVOKED at:  " + Timestamps.toString(c.getRevokedAt()) : "");
  }

  static String describe(dev.keywarden.api.v1.SshRole r) {
    return "Name:               " + r.getName() + " (" + typeName(r.getCertType()) + " certificates)\n"
        + "CA:                 " + (r.getCa().isEmpty() ? "(the default)" : r.getCa()) + "\n"
        + (r.getCertType() == SshCertType.SSH_CERT_TYPE_USER
            ? "Allowed principals: " + String.join(", ", r.getAllowedPrincipalsList()) + "\n"
            + "Default principals: " + String.join(", ", r.getDefaultPrincipalsList()) + "\n"
            : "Allowed domains:    " + String.join(", ", r.getAllowedDomainsList())
            + (r.getAllowSubdomains() ? " (and subdomains)" : "") + "\n")
        + "TTL / max TTL:      " + Durations.toString(r.getTtl()) + " / " + Durations.toString(r.getMaxTtl()) + "\n"
        + "Extensions:         allowed " + String.join(", ", r.getAllowedExtensionsList()) + "; default "
        + String.join(", ", r.getDefaultExtensionsMap().keySet()) + "\n"
        + "Critical options:   allowed " + String.join(", ", r.getAllowedCriticalOptionsList()) + "; default "
        + r.getDefaultCriticalOptionsMap() + "\n"
        + "Key id template:    " + r.getKeyIdTemplate() + (r.getNoStore() ? "\nNot stored" : "");
  }

  /** NAME or NAME=VALUE options into a map (extensions take no value). */
  static Map<String, String> pairs(List<String> items) {
    Map<String, String> out = new LinkedHashMap<>();
    for (String i : items) {
      int eq = i.indexOf('=');
      out.put(eq < 0 ? i : i.substring(0, eq), eq < 0 ? "" : i.substring(eq + 1));
    }
    return out;
  }

  @Command(name = "create-ca", description = "Create a CA: a key pair generated in the HSM (non-extractable).")
  static final class CreateCa extends ClientCommand {
    @Parameters(paramLabel = "NAME")
    String name;

    @Option(names = "--key-type", description = "ed25519 (default), ec-p256, ec-p384, rsa-3072, rsa-4096.")
    String keyType = "";

    @Option(names = "--default-for", split = ",", description = "user, host: make it the default CA for these.")
    List<String> defaultFor = new ArrayList<>();

    @Override
    Integer run() throws Exception {
      CreateSshCaRequest.Builder b = CreateSshCaRequest.newBuilder().setName(name)
          .setKeyPairType(PkiCommand.keyPairType(keyType));
      defaultFor.forEach(t -> b.addDefaultFor(certType(t)));
      CreateSshCaResponse r = ssh().createSshCa(b.build());
      print(r, describe(r.getCa()));
      return 0;
    }
  }

  @Command(name = "rotate-ca", description = "Rotate a CA: a new key signs from now on; the old one stays published"
      + " (trusted keys, known_hosts, KRL) until every certificate it signed has expired.")
  static final class RotateCa extends ClientCommand {
    @Parameters(paramLabel = "NAME")
    String name;

    @Option(names = "--key-type", description = "The new key's type; default: the current one's.")
    String keyType = "";

    @Override
    Integer run() throws Exception {
      RotateSshCaResponse r = ssh().rotateSshCa(RotateSshCaRequest.newBuilder().setName(name)
          .setKeyPairType(PkiCommand.keyPairType(keyType)).build());
      print(r, describe(r.getCa()));
      return 0;
    }
  }

  @Command(name = "cas", description = "List the CAs.")
  static final class Cas extends ClientCommand {
    @Override
    Integer run() throws Exception {
      ListSshCasResponse r = ssh().listSshCas(ListSshCasRequest.getDefaultInstance());
      print(r, String.join("\n", r.getCasList().stream().map(SshCommand::describe).toList()));
      return 0;
    }
  }

  @Command(name = "ca", description = "Show a CA and its published keys.")
  static final class Ca extends ClientCommand {
    @Parameters(paramLabel = "NAME")
    String name;

    @Override
    Integer run() throws Exception {
      GetSshCaResponse r = ssh().getSshCa(GetSshCaRequest.newBuilder().setName(name).build());
      print(r, describe(r.getCa()));
      return 0;
    }
  }

  @Command(name = "set-default", description = "Make a CA the default for user or host certificates.")
  static final class SetDefault extends ClientCommand {
    @Parameters(index = "0", paramLabel = "NAME")
    String name;

    @Parameters(index = "1", paramLabel = "TYPE", description = "user or host")
    String type;

    @Override
    Integer run() throws Exception {
      SetDefaultSshCaResponse r = ssh().setDefaultSshCa(SetDefaultSshCaRequest.newBuilder().setName(name)
          .setCertType(certType(type)).build());
      print(r, "CA " + name + " is the default for " + type + " certificates.");
      return 0;
    }
  }

  @Command(name = "ca-keys", description = "Print the CA's published keys: sshd's TrustedUserCAKeys file, or with"
      + " --known-hosts the @cert-authority lines for ssh clients' known_hosts.")
  static final class CaKeys extends ClientCommand {
    @Parameters(paramLabel = "NAME")
    String name;

    @Option(names = "--known-hosts", description = "known_hosts @cert-authority lines instead.")
    boolean knownHosts;

    @Option(names = "--host", description = "Host pattern of the known_hosts lines (default *), e.g. *.example.com.")
    String host = "";

    @Override
    Integer run() throws Exception {
      GetSshCaKeysResponse r = ssh().getSshCaKeys(GetSshCaKeysRequest.newBuilder().setName(name)
          .setKnownHosts(knownHosts).setHostPattern(host).build());
      if (json()) {
        printJson(r);
      } else {
        out().print(r.getText());
        out().flush();
      }
      return 0;
    }
  }

  @Command(name = "krl", description = "Write the CA's key revocation list (binary, for sshd's RevokedKeys).")
  static final class Krl extends ClientCommand {
    @Parameters(paramLabel = "NAME")
    String name;

    @Option(names = {"-o", "--out"}, required = true, description = "File to write the KRL to.")
    Path outFile;

    @Override
    Integer run() throws Exception {
      GetSshKrlResponse r = ssh().getSshKrl(GetSshKrlRequest.newBuilder().setName(name).build());
      Files.write(outFile, r.getKrl().toByteArray());
      print(r, "Wrote " + r.getKrl().size() + " bytes to " + outFile);
      return 0;
    }
  }

  @Command(name = "create-role", description = "Create or replace a role (everything is off unless enabled here).")
  static final class CreateRole extends ClientCommand {
    @Parameters(paramLabel = "NAME")
    String name;

    @Option(names = "--type", required = true, description = "user or host.")
    String type;

    @Option(names = "--ca", description = "The CA that signs; default: the default CA for the type.")
    String ca = "";

    @Option(names = "--allowed-principals", split = ",", description = "Login names (globs, {{identity}}).")
    List<String> allowedPrincipals = new ArrayList<>();

    @Option(names = "--default-principals", split = ",")
    List<String> defaultPrincipals = new ArrayList<>();

    @Option(names = "--allow-any-principal", description = "Allow certificates with no principals (valid for ANY"
        + " user or host name).")
    boolean allowAnyPrincipal;

    @Option(names = "--allowed-domains", split = ",", description = "Host names host certificates may carry.")
    List<String> allowedDomains = new ArrayList<>();

    @Option(names = "--allow-subdomains")
    boolean allowSubdomains;

    @Option(names = "--allow-bare-domains")
    boolean allowBareDomains;

    @Option(names = "--allow-glob")
    boolean allowGlob;

    @Option(names = "--ttl", converter = DurationConverter.class)
    Duration ttl;

    @Option(names = "--max-ttl", converter = DurationConverter.class)
    Duration maxTtl;

    @Option(names = "--allowed-extensions", split = ",", description = "e.g. permit-pty,permit-port-forwarding.")
    List<String> allowedExtensions = new ArrayList<>();

    @Option(names = "--default-extensions", split = ",")
    List<String> defaultExtensions = new ArrayList<>();

    @Option(names = "--allowed-critical-options", split = ",", description = "force-command, source-address.")
    List<String> allowedOptions = new ArrayList<>();

    @Option(names = "--default-critical-option", description = "NAME=VALUE, e.g. source-address=10.0.0.0/8;"
        + " repeat for several.")
    List<String> defaultOptions = new ArrayList<>();

    @Option(names = "--allowed-user-key-types", split = ",", description = "ed25519, ecdsa, rsa, sk-ed25519,"
        + " sk-ecdsa; default: all (never DSA).")
    List<String> allowedKeyTypes = new ArrayList<>();

    @Option(names = "--min-rsa-bits")
    int minRsaBits;

    @Option(names = "--key-id-template", description = "e.g. {{role}}:{{identity}} (the default).")
    String keyIdTemplate = "";

    @Option(names = "--allow-user-key-ids", description = "Let requests choose the key id.")
    boolean allowUserKeyIds;

    @Option(names = "--not-before", converter = DurationConverter.class, description = "Backdating; default 30s.")
    Duration notBefore;

    @Option(names = "--key-type", description = "Key type `ssh issue` makes: ed25519 (default), ec-p256, rsa-3072…")
    String keyType = "";

    @Option(names = "--no-store", description = "Do not store certificates (revocable by key id only).")
    boolean noStore;

    @Override
    Integer run() throws Exception {
      dev.keywarden.api.v1.SshRole.Builder b = dev.keywarden.api.v1.SshRole.newBuilder().setName(name)
          .setCertType(certType(type)).setCa(ca).addAllAllowedPrincipals(allowedPrincipals)
          .addAllDefaultPrincipals(defaultPrincipals).setAllowAnyPrincipal(allowAnyPrincipal)
          .addAllAllowedDomains(allowedDomains).setAllowSubdomains(allowSubdomains)
          .setAllowBareDomains(allowBareDomains).setAllowGlobDomains(allowGlob)
          .addAllAllowedExtensions(allowedExtensions).putAllDefaultExtensions(pairs(defaultExtensions))
          .addAllAllowedCriticalOptions(allowedOptions).putAllDefaultCriticalOptions(pairs(defaultOptions))
          .addAllAllowedUserKeyTypes(allowedKeyTypes).setMinRsaBits(minRsaBits).setKeyIdTemplate(keyIdTemplate)
          .setAllowUserKeyIds(allowUserKeyIds).setKeyPairType(PkiCommand.keyPairType(keyType)).setNoStore(noStore);
      if (ttl != null) {
        b.setTtl(Durations.fromSeconds(ttl.getSeconds()));
      }
      if (maxTtl != null) {
        b.setMaxTtl(Durations.fromSeconds(maxTtl.getSeconds()));
      }
      if (notBefore != null) {
        b.setNotBeforeDuration(Durations.fromSeconds(notBefore.getSeconds()));
      }
      WriteSshRoleResponse r = ssh().writeSshRole(WriteSshRoleRequest.newBuilder().setRole(b).build());
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
      GetSshRoleResponse r = ssh().getSshRole(GetSshRoleRequest.newBuilder().setName(name).build());
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
      ListSshRolesResponse r = ssh().listSshRoles(ListSshRolesRequest.newBuilder()
          .setLimit(page.limit).setAfter(page.after).build());
      print(r, pageText(r.getNamesList(), r.getNextAfter()));
      return 0;
    }
  }

  @Command(name = "delete-role", description = "Delete a role; certificates it signed stay valid.")
  static final class DeleteRole extends ClientCommand {
    @Parameters(paramLabel = "NAME")
    String name;

    @Override
    Integer run() throws Exception {
      DeleteSshRoleResponse r = ssh().deleteSshRole(DeleteSshRoleRequest.newBuilder().setName(name).build());
      print(r, "Deleted.");
      return 0;
    }
  }

  /** Options shared by sign and issue. */
  abstract static class CertificateOptions extends ClientCommand {
    @Option(names = "--role", required = true)
    String role;

    @Option(names = {"--principal", "--principals"}, split = ",", description = "Principals; default: the role's.")
    List<String> principals = new ArrayList<>();

    @Option(names = "--ttl", converter = DurationConverter.class, description = "Lifetime; default: the role's.")
    Duration ttl;

    @Option(names = "--key-id", description = "Key id, where the role lets callers choose.")
    String keyId = "";

    @Option(names = "--extension", description = "Extension (e.g. permit-pty); repeat; default: the role's.")
    List<String> extensions = new ArrayList<>();

    @Option(names = "--critical-option", description = "NAME=VALUE, e.g. force-command=/usr/bin/backup; repeat.")
    List<String> options = new ArrayList<>();
  }

  @Command(name = "sign", description = "Sign a public key; writes the certificate beside it (id_ed25519.pub →"
      + " id_ed25519-cert.pub).")
  static final class Sign extends CertificateOptions {
    @Option(names = "--public-key", required = true, description = "The OpenSSH public key file, e.g."
        + " ~/.ssh/id_ed25519.pub.")
    Path publicKey;

    @Option(names = {"-o", "--out"}, description = "Where to write the certificate; default: beside the key.")
    Path outFile;

    @Override
    Integer run() throws Exception {
      SignSshKeyRequest.Builder b = SignSshKeyRequest.newBuilder().setRole(role)
          .setPublicKey(Files.readString(publicKey, StandardCharsets.UTF_8).strip()).addAllPrincipals(principals)
          .setKeyId(keyId).putAllExtensions(pairs(extensions)).putAllCriticalOptions(pairs(options));
      if (ttl != null) {
        b.setTtl(Durations.fromSeconds(ttl.getSeconds()));
      }
      SignSshKeyResponse r = ssh().signSshKey(b.build());
      Path target = outFile != null ? outFile : certPathFor(publicKey);
      Files.writeString(target, r.getCertificate().getCertificate() + "\n", StandardCharsets.UTF_8);
      print(r, describe(r.getCertificate()) + "\nWrote " + target);
      return 0;
    }
  }

  /** OpenSSH's name for a key's certificate: id_ed25519.pub → id_ed25519-cert.pub. */
  static Path certPathFor(Path publicKey) {
    String file = publicKey.getFileName().toString();
    String base = file.endsWith(".pub") ? file.substring(0, file.length() - 4) : file;
    return publicKey.resolveSibling(base + "-cert.pub");
  }

  @Command(name = "issue", description = "Make a key pair in Keywarden and sign it: writes FILE (private, 0600),"
      + " FILE.pub and FILE-cert.pub.")
  static final class Issue extends CertificateOptions {
    @Option(names = "--key-type", description = "Default: the role's.")
    String keyType = "";

    @Option(names = {"-o", "--out"}, required = true, description = "Private key file, e.g. ./id_ed25519.")
    Path outFile;

    @Override
    Integer run() throws Exception {
      IssueSshKeyRequest.Builder b = IssueSshKeyRequest.newBuilder().setRole(role)
          .setKeyPairType(PkiCommand.keyPairType(keyType))
          .addAllPrincipals(principals).setKeyId(keyId).putAllExtensions(pairs(extensions))
          .putAllCriticalOptions(pairs(options));
      if (ttl != null) {
        b.setTtl(Durations.fromSeconds(ttl.getSeconds()));
      }
      IssueSshKeyResponse r = ssh().issueSshKey(b.build());
      Files.deleteIfExists(outFile);
      Files.createFile(outFile, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      Files.writeString(outFile, r.getPrivateKey(), StandardCharsets.UTF_8);
      Path pub = outFile.resolveSibling(outFile.getFileName() + ".pub");
      Files.writeString(pub, r.getPublicKey() + "\n", StandardCharsets.UTF_8);
      Path cert = outFile.resolveSibling(outFile.getFileName() + "-cert.pub");
      Files.writeString(cert, r.getCertificate().getCertificate() + "\n", StandardCharsets.UTF_8);
      if (json()) {
        printJson(IssueSshKeyResponse.newBuilder(r).clearPrivateKey().build()); // the key is in the file only
      } else {
        print(r, describe(r.getCertificate()) + "\nWrote " + outFile + ", " + pub + ", " + cert);
      }
      return 0;
    }
  }

  @Command(name = "revoke", description = "Revoke a stored certificate by serial (decimal); the KRL is rebuilt.")
  static final class Revoke extends ClientCommand {
    @Parameters(paramLabel = "SERIAL")
    String serial;

    @Override
    Integer run() throws Exception {
      RevokeSshCertificateResponse r = ssh().revokeSshCertificate(RevokeSshCertificateRequest.newBuilder()
          .setSerial(serial).build());
      print(r, describe(r.getCertificate()));
      return 0;
    }
  }

  @Command(name = "revoke-key-id", description = "Revoke every certificate of a CA with this key id (the key id goes"
      + " into the KRL, so unstored certificates are covered too).")
  static final class RevokeKeyId extends ClientCommand {
    @Option(names = "--ca", required = true)
    String ca;

    @Option(names = "--key-id", required = true)
    String keyId;

    @Override
    Integer run() throws Exception {
      RevokeSshKeyIdResponse r = ssh().revokeSshKeyId(RevokeSshKeyIdRequest.newBuilder().setCa(ca).setKeyId(keyId)
          .build());
      print(r, "Key id '" + keyId + "' revoked; stored certificates marked: " + r.getCertificatesCount());
      return 0;
    }
  }

  @Command(name = "cert", description = "Show a stored certificate.")
  static final class Cert extends ClientCommand {
    @Parameters(paramLabel = "SERIAL")
    String serial;

    @Override
    Integer run() throws Exception {
      GetSshCertificateResponse r = ssh().getSshCertificate(GetSshCertificateRequest.newBuilder().setSerial(serial)
          .build());
      print(r, describe(r.getCertificate()) + "\n" + r.getCertificate().getCertificate());
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
      ListSshCertificatesResponse r = ssh().listSshCertificates(ListSshCertificatesRequest.newBuilder()
          .setLimit(limit).setAfter(after).build());
      print(r, pageText(r.getSerialsList(), r.getNextAfter()));
      return 0;
    }
  }

  @Command(name = "tidy", description = "Remove expired certificates and revocations, and rotated-out CA keys whose"
      + " certificates have all expired (destroying them in the HSM).")
  static final class Tidy extends ClientCommand {
    @Option(names = "--reindex", description = "Also index what servers of an earlier version stored (reads every"
        + " stored certificate once): run once after a rolling upgrade, when the last older server has stopped.")
    boolean reindex;

    @Override
    Integer run() throws Exception {
      TidySshResponse r = ssh().tidySsh(TidySshRequest.newBuilder().setReindex(reindex).build());
      print(r, "Removed " + r.getCertificatesRemoved() + " certificates, " + r.getRevocationsRemoved()
          + " revocations, CA keys: " + r.getCaKeysRemovedList());
      return 0;
    }
  }
}
