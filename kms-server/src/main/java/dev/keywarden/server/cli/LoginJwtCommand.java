package dev.keywarden.server.cli;

import dev.keywarden.api.v1.JwtAuthServiceLoginRequest;
import dev.keywarden.api.v1.JwtAuthServiceLoginResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** `keywarden login jwt --role NAME --jwt-file F`: a JWT (a secret: read from a file or stdin, never an argument). */
@Command(name = "jwt", description = "Log in with a JWT under a jwt role; prints the token once.")
final class LoginJwtCommand extends ClientCommand {
  /** A little over the server's 16 KiB limit, so an oversized JWT gets the server's message. */
  private static final int MAX_READ = 64 * 1024;

  @Option(names = "--role", required = true, description = "The jwt role to log in with.")
  String role;

  @Option(names = "--jwt-file", required = true, paramLabel = "FILE",
      description = "File holding the JWT ('-' for standard input), e.g. /var/run/secrets/tokens/keywarden.")
  String jwtFile;

  @Override
  Integer run() throws Exception {
    JwtAuthServiceLoginResponse r = jwtAuth().login(JwtAuthServiceLoginRequest.newBuilder().setRole(role)
        .setJwt(read()).build());
    print(r, "Token:    " + r.getToken() + "\n" + TokenCommand.describe(r.getInfo()) + "\n"
        + "Subject:  " + r.getInfo().getMetadataOrDefault("jwt_subject", ""));
    return 0;
  }

  private String read() throws IOException {
    byte[] raw;
    if ("-".equals(jwtFile)) {
      raw = System.in.readNBytes(MAX_READ);
    } else {
      Path path = Path.of(jwtFile);
      if (!Files.isReadable(path)) {
        throw new IOException("cannot read the JWT file " + jwtFile);
      }
      try (var in = Files.newInputStream(path)) {
        raw = in.readNBytes(MAX_READ);
      }
    }
    String jwt = new String(raw, StandardCharsets.UTF_8).strip();
    if (jwt.isEmpty()) {
      throw new IOException("the JWT is empty (" + ("-".equals(jwtFile) ? "standard input" : jwtFile) + ")");
    }
    return jwt;
  }
}
