package dev.keywarden.server.http;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.ssh.SshEngine;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.http.annotation.QueryValue;
import java.nio.charset.StandardCharsets;
import java.util.function.Supplier;

/**
 * The SSH CA's public endpoints (no token: servers and clients fetch them, as relying parties fetch CRLs): the
 * TrustedUserCAKeys file, known_hosts {@code @cert-authority} lines, and the KRL for sshd's RevokedKeys. Each lists
 * every published key of the CA, so during a rotation both the old and the new key are trusted.
 */
@Controller("/v1/ssh")
public class SshController {
  static final String KRL = "application/octet-stream";
  private final SshEngine ssh;

  public SshController(SshEngine ssh) {
    this.ssh = ssh;
  }

  /** The CA's public keys, one authorized_keys-style line each: sshd's TrustedUserCAKeys file. */
  @Get("/ca/{name}")
  public HttpResponse<?> trustedUserCaKeys(@PathVariable String name) {
    return respond(() -> text(ssh.trustedUserCaKeys(name)), MediaType.TEXT_PLAIN);
  }

  /** {@code @cert-authority PATTERN KEY} lines for ssh clients' known_hosts; {@code ?host=} sets the pattern. */
  @Get("/known_hosts/{name}")
  public HttpResponse<?> knownHosts(@PathVariable String name, @Nullable @QueryValue("host") String host) {
    return respond(() -> text(ssh.knownHosts(name, host == null || host.isEmpty() ? null : host)),
        MediaType.TEXT_PLAIN);
  }

  /** The CA's key revocation list, OpenSSH's binary KRL format: sshd's RevokedKeys file. */
  @Get("/krl/{name}")
  public HttpResponse<?> krl(@PathVariable String name) {
    return respond(() -> ssh.krl(name), KRL);
  }

  private static byte[] text(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** Runs {@code body}; engine errors become the matching HTTP status with the engine's message. */
  private static HttpResponse<?> respond(Supplier<byte[]> body, String contentType) {
    try {
      return HttpResponse.ok(body.get()).contentType(contentType);
    } catch (KeywardenException e) {
      return EngineErrors.response(e);
    }
  }
}
