package dev.keywarden.server.cli;

import com.google.protobuf.util.Durations;
import com.google.protobuf.util.Timestamps;
import dev.keywarden.api.v1.*;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * `keywarden token …`.
 * Its subcommands are listed in {@link CommandTree}.
 */
@Command(name = "token", description = "Create, look up and revoke tokens.")
final class TokenCommand {

  @Command(name = "create", description = "Make a token with policies and a TTL. Prints the token once.")
  static final class Create extends ClientCommand {
    @Option(names = "--policy", required = true, split = ",", description = "Policy name (repeat, or comma-separate).")
    List<String> policies = new ArrayList<>();

    @Option(names = "--ttl", converter = DurationConverter.class, description = "Lifetime, e.g. 1h, 24h, 7d (default 24h).")
    Duration ttl;

    @Option(names = "--display-name", description = "A name for humans and audit records.")
    String displayName = "";

    @Override
    Integer run() throws Exception {
      CreateTokenRequest.Builder request = CreateTokenRequest.newBuilder().addAllPolicies(policies)
          .setDisplayName(displayName);
      if (ttl != null) {
        request.setTtl(Durations.fromMillis(ttl.toMillis()));
      }
      CreateTokenResponse r = tokens().createToken(request.build());
      print(r, "Token:    " + r.getToken() + "\n" + describe(r.getInfo()));
      return 0;
    }
  }

  /** Which token a lookup or revoke is about. */
  static final class Target {
    @Parameters(arity = "0..1", paramLabel = "TOKEN", description = "The token (default: your own).")
    String token = "";

    @Option(names = "--accessor", description = "The token's accessor instead of the token.")
    String accessor = "";
  }

  @Command(name = "lookup", description = "Describe a token (your own by default).")
  static final class Lookup extends ClientCommand {
    @ArgGroup(exclusive = false)
    Target target = new Target();

    @Override
    Integer run() throws Exception {
      LookupTokenResponse r = tokens().lookupToken(LookupTokenRequest.newBuilder().setToken(target.token)
          .setAccessor(target.accessor).build());
      print(r, describe(r.getInfo()));
      return 0;
    }
  }

  @Command(name = "revoke", description = "Revoke a token at once (your own by default).")
  static final class Revoke extends ClientCommand {
    @ArgGroup(exclusive = false)
    Target target = new Target();

    @Override
    Integer run() throws Exception {
      RevokeTokenResponse r = tokens().revokeToken(RevokeTokenRequest.newBuilder().setToken(target.token)
          .setAccessor(target.accessor).build());
      print(r, "Revoked.");
      return 0;
    }
  }

  static String describe(TokenInfo info) {
    return "Accessor: " + info.getAccessor() + "\n"
        + "Policies: " + String.join(", ", info.getPoliciesList()) + "\n"
        + "Name:     " + info.getDisplayName() + "\n"
        + "Created:  " + Timestamps.toString(info.getCreateTime()) + "\n"
        + "Expires:  " + (info.hasExpireTime() ? Timestamps.toString(info.getExpireTime()) : "never (until revoked)");
  }
}
