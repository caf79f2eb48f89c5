package dev.keywarden.server;

import dev.keywarden.server.cli.KeywardenCommand;

/** `keywarden`: one launcher for server and client. */
public final class Main {
  private Main() {}

  public static void main(String[] args) {
    // `server` blocks inside run() until it is stopped, so every command ends here.
    System.exit(KeywardenCommand.run(args));
  }
}
