package dev.keywarden.server.cli;

import dev.keywarden.api.v1.CertAuthServiceLoginRequest;
import dev.keywarden.api.v1.CertAuthServiceLoginResponse;
import java.util.Map;
import java.util.TreeMap;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * `keywarden login …`: exchange a credential for a token, one subcommand per auth method.
 * Its subcommands are listed in {@link CommandTree}.
 */
@Command(name = "login", description = "Exchange a credential for a Keywarden token.")
final class LoginCommand {

  @Command(name = "cert", description = "Log in with the TLS client certificate (--client-cert/--client-key) a cert"
      + " role accepts. Prints the token once.")
  static final class Cert extends ClientCommand {
    @Option(names = "--role", required = true, description = "The cert role to log in with.")
    String role;

    @Override
    Integer run() throws Exception {
      CertAuthServiceLoginResponse r = certAuth().login(CertAuthServiceLoginRequest.newBuilder().setRole(role)
          .build());
      Map<String, String> metadata = new TreeMap<>(r.getInfo().getMetadataMap());
      print(r, "Token:    " + r.getToken() + "\n" + TokenCommand.describe(r.getInfo()) + "\nMetadata: " + metadata);
      return 0;
    }
  }
}
