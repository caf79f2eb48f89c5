package dev.keywarden.server.cli;

import picocli.CommandLine.Command;

/** `keywarden auth …`: configure how workloads log in. */
@Command(name = "auth", description = "Configure login methods (jwt roles).", subcommands = {AuthJwtCommand.class})
final class AuthCommand {
}
