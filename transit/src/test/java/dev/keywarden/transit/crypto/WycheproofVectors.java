package dev.keywarden.transit.crypto;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;

/** Loads Wycheproof JSON files from the folder Surefire names in {@code keywarden.testvectors}. */
final class WycheproofVectors {

  private static final ObjectMapper JSON = new ObjectMapper();

  private WycheproofVectors() {
  }

  static JsonNode load(String fileName) throws IOException {
    String folder = System.getProperty("keywarden.testvectors");
    if (folder == null) {
      throw new IllegalStateException("system property keywarden.testvectors is not set (Surefire sets it)");
    }
    return JSON.readTree(Files.readAllBytes(Path.of(folder, fileName)));
  }

  static byte[] hex(JsonNode node, String field) {
    return HexFormat.of().parseHex(node.get(field).asText());
  }

  /** Tally of one file's outcome, printed for the record. */
  static final class Tally {
    final String file;
    int validAccepted;
    int invalidRefused;
    int acceptableAccepted;
    int acceptableRefused;
    int skipped;

    Tally(String file) {
      this.file = file;
    }

    @Override
    public String toString() {
      return String.format("wycheproof %s: valid accepted %d, invalid refused %d, acceptable accepted %d / refused %d,"
          + " skipped %d", file, validAccepted, invalidRefused, acceptableAccepted, acceptableRefused, skipped);
    }
  }
}
