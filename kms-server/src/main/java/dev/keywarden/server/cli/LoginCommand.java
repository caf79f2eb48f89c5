package dev.keywarden.server.cli;

import picocli.CommandLine.Command;

/** `keywarden login …`: exchange a credential for a Keywarden token. */
@Command(name = "login", description = "Log in with a workload credential and print a Keywarden token.",
    subcommands = {LoginJwtCommand.class})
final class LoginCommand {
}
