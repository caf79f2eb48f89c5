package dev.keywarden.server.cli;

import dev.keywarden.failure.KeywardenException;
import io.grpc.StatusRuntimeException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The `keywarden` command and its error handling: any failure exits non-zero with the server's message. Its
 * subcommands, and theirs, are listed in {@link CommandTree}.
 */
@Command(name = "keywarden", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
    description = "HSM-backed key management: server, unseal ceremony, tokens, policies, JWT login, transit encryption, an X.509 CA, an SSH CA and JWT signing keys.")
public final class KeywardenCommand {
  /** Exit code for errors the server (or the CLI) reported. */
  static final int EXIT_ERROR = 2;

  /** Runs the CLI; returns the exit code. */
  public static int run(String[] args) {
    CommandLine cli = CommandTree.forArgs(new KeywardenCommand(), args);
    addHelp(cli);
    cli.setExecutionExceptionHandler(new ErrorMessage());
    return cli.execute(args);
  }

  /**
   * Prints a failure as one line and exits with {@link #EXIT_ERROR}. A class, not a lambda: `-Xshare:dump` links the
   * interface of an archived lambda, and a linked picocli interface (class-file version 49) is left out of the
   * archive, so every call read the jar for it.
   */
  private static final class ErrorMessage implements CommandLine.IExecutionExceptionHandler {
    @Override
    public int handleExecutionException(Exception error, CommandLine cmd, CommandLine.ParseResult parsed) {
      cmd.getErr().println("Error: " + describe(error, cmd.getCommand()));
      return EXIT_ERROR;
    }
  }


  /** Every command answers --help and --version, not only the top one. */
  private static void addHelp(CommandLine command) {
    command.getCommandSpec().mixinStandardHelpOptions(true);
    command.getSubcommands().values().forEach(KeywardenCommand::addHelp);
  }

  /** The message for a failure of {@code command} (whose options say which server it called). */
  static String describe(Throwable error, Object command) {
    if (error instanceof StatusRuntimeException s && command instanceof ClientCommand client) {
      String unreachable = ConnectionFailures.describe(s, client.target(), client.tls());
      if (unreachable != null) {
        return unreachable + " (" + s.getStatus().getCode() + ")";
      }
    }
    return describe(error);
  }

  static String describe(Throwable error) {
    if (error instanceof StatusRuntimeException s) {
      String description = s.getStatus().getDescription();
      return (description == null ? s.getStatus().getCode().toString() : description)
          + " (" + s.getStatus().getCode() + ")";
    }
    if (error instanceof KeywardenException k) {
      return k.getMessage() + " (" + k.kind() + ")";
    }
    if (error instanceof java.io.IOException io) {
      return io.getMessage();
    }
    return error.getClass().getSimpleName() + (error.getMessage() == null ? "" : ": " + error.getMessage());
  }
}
