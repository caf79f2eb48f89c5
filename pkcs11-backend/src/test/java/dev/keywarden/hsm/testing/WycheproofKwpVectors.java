package dev.keywarden.hsm.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/** The Wycheproof AES-KWP (RFC 5649) vectors, found through the {@code keywarden.testvectors} system property. */
public final class WycheproofKwpVectors {

  /** One vector: a key, a message, the wrapped message, and whether a correct implementation accepts it. */
  public record Vector(int tcId, String comment, byte[] key, byte[] msg, byte[] ct, String result) {
    public boolean valid() {
      return "valid".equals(result);
    }

    @Override
    public String toString() {
      return "tcId " + tcId + " (" + comment + ", " + result + ")";
    }
  }

  private WycheproofKwpVectors() {}

  /** Every vector of every key size. Fails (never skips) when the file cannot be found. */
  public static List<Vector> load() throws IOException {
    Path file = locate().resolve("aes_kwp_test.json");
    JsonNode root = new ObjectMapper().readTree(file.toFile());
    List<Vector> vectors = new ArrayList<>();
    HexFormat hex = HexFormat.of();
    for (JsonNode group : root.get("testGroups")) {
      for (JsonNode test : group.get("tests")) {
        vectors.add(new Vector(test.get("tcId").asInt(), test.get("comment").asText(),
            hex.parseHex(test.get("key").asText()), hex.parseHex(test.get("msg").asText()),
            hex.parseHex(test.get("ct").asText()), test.get("result").asText()));
      }
    }
    if (vectors.size() != root.get("numberOfTests").asInt()) {
      throw new IllegalStateException("read " + vectors.size() + " vectors, file says " + root.get("numberOfTests"));
    }
    return vectors;
  }

  private static Path locate() {
    for (String property : List.of("keywarden.testvectors", "keywarden.testvectors.fallback")) {
      String dir = System.getProperty(property);
      if (dir != null && Files.isRegularFile(Path.of(dir, "aes_kwp_test.json"))) {
        return Path.of(dir);
      }
    }
    throw new IllegalStateException("aes_kwp_test.json not found under keywarden.testvectors="
        + System.getProperty("keywarden.testvectors") + " or keywarden.testvectors.fallback="
        + System.getProperty("keywarden.testvectors.fallback"));
  }
}
