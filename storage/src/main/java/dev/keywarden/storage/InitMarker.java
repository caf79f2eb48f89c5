package dev.keywarden.storage;

import dev.keywarden.failure.KeywardenException;
import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Optional;
import java.util.Properties;

/**
 * The file {@code keywarden.initialized} in the data dir: written once the data dir is initialized, it remembers that
 * fact outside the database, so a database that is later lost, emptied or replaced is refused at start instead of
 * looking like a new server that asks for init (a second init would make a new KEK, and every key wrapped by the old
 * one would be lost). It holds only the time and the KEK label, nothing secret.
 */
public final class InitMarker {
  /** Name of the marker file inside the data dir. */
  public static final String FILE = "keywarden.initialized";
  private static final InitMarker NONE = new InitMarker(null);

  private final Path dataDir;

  private InitMarker(Path dataDir) {
    this.dataDir = dataDir;
  }

  /** The marker of {@code dataDir}. */
  public static InitMarker in(Path dataDir) {
    return new InitMarker(dataDir.toAbsolutePath().normalize());
  }

  /** No marker: for storage without a data dir (tests, benchmarks); reads nothing and writes nothing. */
  public static InitMarker none() {
    return NONE;
  }

  /**
   * What the marker says.
   *
   * @param initialized when the data dir was initialized, or when the marker was first written for a data dir
   *     initialized before markers existed ({@code atInit} false)
   * @param kekLabel the KEK's label on the HSM (not secret; shown by status)
   * @param atInit true when written by init itself
   */
  public record Recorded(Instant initialized, String kekLabel, boolean atInit) {
    /** "on 2024-05-01T12:00:00Z (KEK 'keywarden-kek-…')", or "before …" for a marker added later. */
    String when() {
      return (atInit ? "on " : "before ") + initialized + (kekLabel.isEmpty() ? "" : " (KEK '" + kekLabel + "')");
    }
  }

  /** The data dir this marker belongs to; null for {@link #none()}. */
  public Path dataDir() {
    return dataDir;
  }

  /** What the marker records; empty when there is none. FAILED_PRECONDITION when it cannot be read. */
  public Optional<Recorded> read() {
    if (dataDir == null) {
      return Optional.empty();
    }
    Path file = dataDir.resolve(FILE);
    if (!Files.exists(file)) {
      return Optional.empty();
    }
    Properties p = new Properties();
    try {
      p.load(new StringReader(Files.readString(file, StandardCharsets.UTF_8)));
    } catch (IOException | IllegalArgumentException e) {
      throw KeywardenException.precondition("cannot read " + file + " (" + e.getClass().getSimpleName() + "): the "
          + "server needs to read it to know whether this data dir was initialized; fix its permissions");
    }
    Instant at;
    try {
      at = Instant.parse(p.getProperty("initialized", ""));
    } catch (DateTimeParseException e) {
      at = Instant.EPOCH; // still a marker: the data dir was initialized, only the date is unreadable
    }
    return Optional.of(new Recorded(at, p.getProperty("kek_label", ""),
        !"false".equals(p.getProperty("at_init", "true"))));
  }

  /**
   * Writes the marker (replacing it atomically where the file system allows). Throws {@link IOException}: the
   * caller decides whether a missing marker is worth failing for.
   */
  public void write(Recorded recorded) throws IOException {
    if (dataDir == null) {
      return;
    }
    String text = "# Keywarden initialized this data dir. If keywarden.db is ever missing, empty or damaged, restore\n"
        + "# it from a backup: never run `keywarden operator init` here again, which would make a new KEK and lose\n"
        + "# every key wrapped by the old one. This file holds nothing secret; keep it with the data dir.\n"
        + "initialized=" + recorded.initialized() + "\n"
        + "kek_label=" + recorded.kekLabel() + "\n"
        + "at_init=" + recorded.atInit() + "\n";
    Path file = dataDir.resolve(FILE);
    Path temp = Files.createTempFile(dataDir, ".keywarden.initialized-", ".tmp");
    try {
      Files.writeString(temp, text, StandardCharsets.UTF_8);
      try {
        Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING);
      }
    } finally {
      Files.deleteIfExists(temp);
    }
  }

  /** {@link #initializedButEmpty(Recorded, Path, String)} for the data dir's {@link SqliteStorage#DATABASE_FILE}. */
  public KeywardenException initializedButEmpty(Recorded recorded, String state) {
    return initializedButEmpty(recorded, dataDir.resolve(SqliteStorage.DATABASE_FILE), state);
  }

  /**
   * The start-up error for a data dir whose marker says it was initialized but whose database ({@code state}:
   * "is missing", "is empty (0 bytes)", "holds no seal envelope") says otherwise.
   */
  public KeywardenException initializedButEmpty(Recorded recorded, Path database, String state) {
    return KeywardenException.precondition("data dir " + dataDir + " was initialized " + recorded.when()
        + ", but its database " + database + " " + state + ": restore " + database.getFileName()
        + " from a backup, then start the server again. Never run `keywarden operator init` over it: a new init "
        + "makes a new KEK, and no key wrapped by the old one could be read again");
  }
}
