package dev.keywarden.server.cli;

import com.google.protobuf.ByteString;
import com.google.protobuf.util.Durations;
import com.google.protobuf.util.Timestamps;
import dev.keywarden.api.v1.*;
import dev.keywarden.audit.AuditVerifier;
import dev.keywarden.audit.Verification;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * `keywarden audit …`: the audit devices, and the offline verifier of their logs.
 * Its subcommands are listed in {@link CommandTree}.
 */
@Command(name = "audit", description = "Audit devices (file, socket), HMAC lookups, and verifying audit logs offline.")
final class AuditCommand {
  /** Exit code of `audit verify` for a log that is not intact. */
  static final int EXIT_NOT_INTACT = 1;

  static String describe(AuditDevice d) {
    return d.getName() + "  " + d.getType() + "  " + d.getTarget()
        + (d.getFsync().isEmpty() ? "" : "  fsync=" + d.getFsync())
        + (d.hasFsyncInterval() ? "  fsync-interval=" + Durations.toString(d.getFsyncInterval()) : "")
        + "  timeout=" + Durations.toString(d.getTimeout())
        + "  " + d.getState() + (d.getReason().isEmpty() ? "" : " (" + d.getReason() + ")")
        + "  enabled " + Timestamps.toString(d.getEnabledAt());
  }

  @Command(name = "enable", description = "Enable an audit device: every call is written to it from now on.")
  static final class Enable {}

  /** What both kinds of device take. */
  abstract static class EnableCommand extends ClientCommand {
    @Parameters(paramLabel = "NAME", description = "The device's name.")
    String name;

    @Option(names = "--timeout", converter = DurationConverter.class,
        description = "How long a call waits for this device before it counts as failed (default 2s).")
    Duration timeout;

    EnableAuditDeviceRequest.Builder request() {
      EnableAuditDeviceRequest.Builder b = EnableAuditDeviceRequest.newBuilder().setName(name);
      if (timeout != null) {
        b.setTimeout(Durations.fromMillis(timeout.toMillis()));
      }
      return b;
    }

    Integer enable(EnableAuditDeviceRequest r) throws Exception {
      EnableAuditDeviceResponse resp = audit().enableAuditDevice(r);
      print(resp, "Enabled audit device " + describe(resp.getDevice()));
      return 0;
    }
  }

  @Command(name = "file", description = "A file (created 0600, appended to, fsynced before the call goes on).")
  static final class EnableFile extends EnableCommand {
    @Option(names = "--path", required = true, description = "The log file (absolute path on each server; {node} in it becomes the server's name).")
    Path path;

    @Option(names = "--fsync", description = "batched (default: one fsync for the records of concurrent calls) or"
        + " every-record.")
    String fsync = "batched";

    @Option(names = "--fsync-interval", converter = DurationConverter.class,
        description = "batched only: the shortest time from one fsync to the next (default 1ms, up to 100ms; 0 fsyncs"
        + " again as soon as the last returns). Records arriving sooner share the next fsync.")
    Duration fsyncInterval;

    @Override
    Integer run() throws Exception {
      AuditFsync f = switch (fsync.toLowerCase(Locale.ROOT)) {
        case "batched" -> AuditFsync.AUDIT_FSYNC_BATCHED;
        case "every-record" -> AuditFsync.AUDIT_FSYNC_EVERY_RECORD;
        default -> throw new picocli.CommandLine.ParameterException(spec.commandLine(),
            "--fsync is batched or every-record, not '" + fsync + "'");
      };
      AuditFileDevice.Builder file = AuditFileDevice.newBuilder().setPath(path.toAbsolutePath().toString())
          .setFsync(f);
      if (fsyncInterval != null) {
        file.setFsyncInterval(Durations.fromNanos(fsyncInterval.toNanos()));
      }
      return enable(request().setFile(file).build());
    }
  }

  @Command(name = "socket", description = "A collector on a socket: one JSON record per line.")
  static final class EnableSocket extends EnableCommand {
    @Option(names = "--address", required = true, description = "tcp:HOST:PORT or unix:/PATH")
    String address;

    @Override
    Integer run() throws Exception {
      return enable(request().setSocket(AuditSocketDevice.newBuilder().setAddress(address)).build());
    }
  }

  @Command(name = "disable", description = "Disable a device: it writes a final signed checkpoint and closes.")
  static final class Disable extends ClientCommand {
    @Parameters(paramLabel = "NAME")
    String name;

    @Override
    Integer run() throws Exception {
      DisableAuditDeviceResponse r = audit().disableAuditDevice(DisableAuditDeviceRequest.newBuilder().setName(name)
          .build());
      print(r, "Disabled audit device " + name);
      return 0;
    }
  }

  @Command(name = "list", description = "Every enabled device and its state.")
  static final class ListDevices extends ClientCommand {
    @Override
    Integer run() throws Exception {
      ListAuditDevicesResponse r = audit().listAuditDevices(ListAuditDevicesRequest.getDefaultInstance());
      print(r, r.getDevicesCount() == 0 ? "No audit device is enabled: calls are not audited."
          : String.join("\n", r.getDevicesList().stream().map(AuditCommand::describe).toList()));
      return 0;
    }
  }

  @Command(name = "hash", description = "The HMAC a device writes for VALUE (e.g. a token): grep the log for it.")
  static final class Hash extends ClientCommand {
    @Option(names = "--device", required = true, description = "The device whose key is used.")
    String device;

    @Parameters(paramLabel = "VALUE")
    String value;

    @Override
    Integer run() throws Exception {
      HashAuditValueResponse r = audit().hashAuditValue(HashAuditValueRequest.newBuilder().setDevice(device)
          .setValue(ByteString.copyFromUtf8(value)).build());
      print(r, r.getHmac());
      return 0;
    }
  }

  @Command(name = "reopen", description = "Reopen the file devices (after logrotate renamed their files).")
  static final class Reopen extends ClientCommand {
    @Parameters(paramLabel = "NAME", arity = "0..1", description = "One device; default: all.")
    String name = "";

    @Override
    Integer run() throws Exception {
      ReopenAuditDevicesResponse r = audit().reopenAuditDevices(ReopenAuditDevicesRequest.newBuilder().setName(name)
          .build());
      print(r, "Reopened " + r.getReopened() + " audit device(s)");
      return 0;
    }
  }

  @Command(name = "public-key", description = "The audit signing key's public half (PEM), for `audit verify`.")
  static final class PublicKeyCmd extends ClientCommand {
    @Override
    Integer run() throws Exception {
      GetAuditPublicKeyResponse r = audit().getAuditPublicKey(GetAuditPublicKeyRequest.getDefaultInstance());
      print(r, r.getPublicKeyPem().strip());
      return 0;
    }
  }

  @Command(name = "verify", description = "Verify audit log files: the hash chain and every checkpoint signature."
      + " Names the first line that is not as written; exits 1 then. Offline with --public-key; without it the"
      + " audit public key is fetched from the server first.")
  static final class Verify extends ClientCommand {
    @Parameters(paramLabel = "FILE", arity = "1..*", description = "The log files of one chain, oldest first.")
    List<Path> files;

    @Option(names = "--public-key", description = "The audit public key (PEM), from `keywarden audit public-key`"
        + " or GET /v1/sys/audit/public-key: verifies with no server. Without it the key is asked of the server.")
    Path publicKey;

    @Option(names = "--closed", description = "Require the log to end with a final checkpoint (a rotated file).")
    boolean closed;

    @Override
    Integer run() throws Exception {
      String pem;
      if (publicKey != null) {
        pem = Files.readString(publicKey);
      } else {
        pem = audit().getAuditPublicKey(GetAuditPublicKeyRequest.getDefaultInstance()).getPublicKeyPem();
        spec.commandLine().getErr().println("(the audit public key was fetched from the server; give --public-key"
            + " to verify offline against a key you kept)");
        spec.commandLine().getErr().flush();
      }
      PublicKey key = readPublicKey(pem);
      Verification v = AuditVerifier.verify(files, key, closed);
      if (v.intact()) {
        spec.commandLine().getOut().println(v.summary());
        spec.commandLine().getOut().flush();
        return 0;
      }
      spec.commandLine().getErr().println(v.summary());
      spec.commandLine().getErr().flush();
      return EXIT_NOT_INTACT;
    }
  }

  /** An Ed25519 or EC public key from a PEM SubjectPublicKeyInfo. */
  static PublicKey readPublicKey(String pem) {
    String b64 = pem.replaceAll("-----(BEGIN|END) PUBLIC KEY-----", "").replaceAll("\\s", "");
    byte[] der;
    try {
      der = Base64.getDecoder().decode(b64.getBytes(StandardCharsets.US_ASCII));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("--public-key: not a PEM public key");
    }
    for (String alg : List.of("Ed25519", "EC")) {
      try {
        return KeyFactory.getInstance(alg).generatePublic(new X509EncodedKeySpec(der));
      } catch (GeneralSecurityException e) {
        // try the other one
      }
    }
    throw new IllegalArgumentException("--public-key: not an Ed25519 or EC P-256 public key");
  }
}
