package dev.keywarden.ssh;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SortedSet;
import java.util.TreeSet;
import org.apache.sshd.common.util.buffer.ByteArrayBuffer;

/**
 * Writes an OpenSSH key revocation list (PROTOCOL.krl, format version 1) as sshd's RevokedKeys and ssh-keygen -Q
 * read it: one certificates section per CA key, revoking serials (a range subsection for each run of three or more
 * consecutive serials, one list subsection for the rest, both in ascending unsigned order) and key ids. No library
 * writes KRLs; sshd-common's buffer does the encoding. Unsigned (OpenSSH 9.4+ refuses signed KRLs).
 */
final class KrlWriter {
  static final long MAGIC = 0x5353484b524c0a00L; // "SSHKRL\n\0"
  static final int FORMAT_VERSION = 1;
  static final int SECTION_CERTIFICATES = 1;
  static final int CERT_SERIAL_LIST = 0x20;
  static final int CERT_SERIAL_RANGE = 0x21;
  static final int CERT_KEY_ID = 0x23;
  /** Runs at least this long are written as a range (16 bytes) rather than listed (8 bytes each). */
  static final int MIN_RANGE = 3;

  /**
   * What one CA key revokes. {@code caKeyBlob} is the CA's public key blob; empty means "certificates of any CA".
   * Serials are unsigned 64-bit values.
   */
  record Section(byte[] caKeyBlob, SortedSet<Long> serials, SortedSet<String> keyIds) {
    Section {
      caKeyBlob = caKeyBlob.clone();
      TreeSet<Long> unsigned = new TreeSet<>(Long::compareUnsigned);
      unsigned.addAll(serials);
      serials = unsigned;
      keyIds = new TreeSet<>(keyIds);
    }

    boolean isEmpty() {
      return serials.isEmpty() && keyIds.isEmpty();
    }
  }

  private KrlWriter() {}

  /** The KRL: header, then the sections that revoke something, in the given order. */
  static byte[] write(long krlVersion, long generatedEpochSeconds, String comment, List<Section> sections) {
    ByteArrayBuffer b = new ByteArrayBuffer();
    b.putLong(MAGIC);
    b.putUInt(FORMAT_VERSION);
    b.putLong(krlVersion);
    b.putLong(generatedEpochSeconds);
    b.putLong(0); // flags: none defined
    b.putString(""); // reserved
    b.putString(comment == null ? "" : comment);
    for (Section s : sections) {
      if (s.isEmpty()) {
        continue;
      }
      b.putByte((byte) SECTION_CERTIFICATES);
      b.putBytes(certificatesSection(s));
    }
    return b.getCompactData();
  }

  private static byte[] certificatesSection(Section s) {
    ByteArrayBuffer c = new ByteArrayBuffer();
    c.putBytes(s.caKeyBlob());
    c.putString(""); // reserved
    List<long[]> ranges = new ArrayList<>();
    List<Long> singles = new ArrayList<>();
    long[] run = null;
    for (long serial : s.serials()) {
      if (run != null && run[1] != -1L && run[1] + 1 == serial) {
        run[1] = serial;
        continue;
      }
      flush(run, ranges, singles);
      run = new long[] {serial, serial};
    }
    flush(run, ranges, singles);
    for (long[] r : ranges) {
      ByteArrayBuffer sub = new ByteArrayBuffer();
      sub.putLong(r[0]);
      sub.putLong(r[1]);
      c.putByte((byte) CERT_SERIAL_RANGE);
      c.putBytes(sub.getCompactData());
    }
    if (!singles.isEmpty()) {
      ByteArrayBuffer sub = new ByteArrayBuffer();
      singles.forEach(sub::putLong);
      c.putByte((byte) CERT_SERIAL_LIST);
      c.putBytes(sub.getCompactData());
    }
    if (!s.keyIds().isEmpty()) {
      ByteArrayBuffer sub = new ByteArrayBuffer();
      s.keyIds().forEach(id -> sub.putString(id, StandardCharsets.UTF_8));
      c.putByte((byte) CERT_KEY_ID);
      c.putBytes(sub.getCompactData());
    }
    return c.getCompactData();
  }

  private static void flush(long[] run, List<long[]> ranges, List<Long> singles) {
    if (run == null) {
      return;
    }
    // Length of the run, unsigned: a run never wraps, since the set is in unsigned order and ends at -1 at most.
    long length = run[1] - run[0] + 1;
    if (Long.compareUnsigned(length, MIN_RANGE) >= 0 || length == 0) {
      ranges.add(run);
    } else {
      for (long v = run[0]; ; v++) {
        singles.add(v);
        if (v == run[1]) {
          break;
        }
      }
    }
  }
}
