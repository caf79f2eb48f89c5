package dev.keywarden.ssh;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.apache.sshd.common.util.buffer.ByteArrayBuffer;

/** Reads back what {@link KrlWriter} writes (certificate sections only), for round-trip tests. */
final class KrlReader {
  /** What one CA key's section revokes; the key is the base64 CA blob ("" for any CA). */
  record Revoked(Set<Long> serials, Set<String> keyIds, int ranges, int lists) {}

  record Krl(long version, long generated, String comment, Map<String, Revoked> byCa) {}

  private KrlReader() {}

  static Krl read(byte[] krl) {
    ByteArrayBuffer b = new ByteArrayBuffer(krl);
    assertEquals(KrlWriter.MAGIC, b.getLong());
    assertEquals(1L, b.getUInt());
    long version = b.getLong();
    long generated = b.getLong();
    assertEquals(0L, b.getLong());
    assertEquals("", b.getString());
    String comment = b.getString();
    Map<String, Revoked> byCa = new LinkedHashMap<>();
    while (b.available() > 0) {
      assertEquals(KrlWriter.SECTION_CERTIFICATES, b.getUByte());
      ByteArrayBuffer s = new ByteArrayBuffer(b.getBytes());
      String ca = Base64.getEncoder().encodeToString(s.getBytes());
      assertEquals("", s.getString());
      Set<Long> serials = new TreeSet<>(Long::compareUnsigned);
      Set<String> ids = new TreeSet<>();
      int ranges = 0;
      int lists = 0;
      while (s.available() > 0) {
        int type = s.getUByte();
        ByteArrayBuffer sub = new ByteArrayBuffer(s.getBytes());
        switch (type) {
          case KrlWriter.CERT_SERIAL_LIST -> {
            lists++;
            while (sub.available() > 0) {
              serials.add(sub.getLong());
            }
          }
          case KrlWriter.CERT_SERIAL_RANGE -> {
            ranges++;
            long lo = sub.getLong();
            long hi = sub.getLong();
            for (long v = lo; ; v++) {
              serials.add(v);
              if (v == hi) {
                break;
              }
            }
          }
          case KrlWriter.CERT_KEY_ID -> {
            while (sub.available() > 0) {
              ids.add(sub.getString(StandardCharsets.UTF_8));
            }
          }
          default -> throw new AssertionError("unexpected subsection " + type);
        }
        assertEquals(0, sub.available());
      }
      byCa.put(ca, new Revoked(serials, ids, ranges, lists));
    }
    return new Krl(version, generated, comment, byCa);
  }

  static List<Long> list(long... v) {
    List<Long> out = new ArrayList<>();
    for (long x : v) {
      out.add(x);
    }
    return out;
  }
}
