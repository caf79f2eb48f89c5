package dev.keywarden.server.config;

/** The server's version, as status reports it. */
public final class Version {
  /** From the jar manifest when packaged; "dev" when run from classes. */
  public static final String VALUE = java.util.Optional
      .ofNullable(Version.class.getPackage().getImplementationVersion()).orElse("0.1.0-dev");

  private Version() {}
}
