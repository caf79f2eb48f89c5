package dev.keywarden.hsm.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/** The Wycheproof AES-GCM vectors, found through the {@code keywarden.testvectors} system property. */
public final class WycheproofGcmVectors {

  /** One vector, with the sizes of its group; {@link #blob()} lays it out as nonce || ciphertext || tag. */
  public record Vector(int tcId, String comment, int ivBits, int tagBits, byte[] key, byte[] iv, byte[] aad,
      byte[] msg, byte[] ct, byte[] tag, String result) {

    public boolean valid() {
      return "valid".equals(result);
    }

    /** True for the layout an {@code HsmAead} uses: a 96-bit nonce and a 128-bit tag. */
    public boolean hsmAeadLayout() {
      return ivBits == 96 && tagBits == 128 && iv.length == 12 && tag.length == 16;
    }

    public byte[] blob() {
      byte[] blob = new byte[iv.length + ct.length + tag.length];
      System.arraycopy(iv, 0, blob, 0, iv.length);
      System.arraycopy(ct, 0, blob, iv.length, ct.length);
      System.arraycopy(tag, 0, blob, iv.length + ct.length, tag.length);
      return blob;
    }

    @Override
    public String toString() {
      return "tcId " + tcId + " (" + comment + ", " + result + ")";
    }
  }

  private WycheproofGcmVectors() {}

  /** Every vector of every group. Fails (never skips) when the file cannot be found. */
  public static List<Vector> load() throws IOException {
    Path file = locate().resolve("aes_gcm_test.json");
    JsonNode root = new ObjectMapper().readTree(file.toFile());
    List<Vector> vectors = new ArrayList<>();
    HexFormat hex = HexFormat.of();
    for (JsonNode group : root.get("testGroups")) {
      int ivBits = group.get("ivSize").asInt();
      int tagBits = group.get("tagSize").asInt();
      for (JsonNode test : group.get("tests")) {
        vectors.add(new Vector(test.get("tcId").asInt(), test.get("comment").asText(), ivBits, tagBits,
            hex.parseHex(test.get("key").asText()), hex.parseHex(test.get("iv").asText()),
            hex.parseHex(test.get("aad").asText()), hex.parseHex(test.get("msg").asText()),
            hex.parseHex(test.get("ct").asText()), hex.parseHex(test.get("tag").asText()),
            test.get("result").asText()));
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
      if (dir != null && Files.isRegularFile(Path.of(dir, "aes_gcm_test.json"))) {
        return Path.of(dir);
      }
    }
    throw new IllegalStateException("aes_gcm_test.json not found under keywarden.testvectors="
        + System.getProperty("keywarden.testvectors") + " or keywarden.testvectors.fallback="
        + System.getProperty("keywarden.testvectors.fallback"));
  }
}
