package dev.keywarden.server.cli;

import dev.keywarden.server.config.Version;
import picocli.CommandLine.IVersionProvider;

/** Prints the version for --version. */
public final class VersionProvider implements IVersionProvider {
  @Override
  public String[] getVersion() {
    return new String[] {"keywarden " + Version.VALUE};
  }
}
