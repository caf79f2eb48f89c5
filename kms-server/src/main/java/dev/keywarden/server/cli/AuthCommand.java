package dev.keywarden.server.cli;

import picocli.CommandLine.Command;

/**
 * `keywarden auth …`: configure how workloads log in.
 * Its subcommands are listed in {@link CommandTree}.
 */
@Command(name = "auth", description = "Configure login methods (jwt roles).")
final class AuthCommand {
}
