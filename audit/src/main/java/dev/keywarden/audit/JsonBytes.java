package dev.keywarden.audit;

import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.util.Arrays;

/**
 * A reusable byte buffer that a record's JSON is written into, byte for byte as Jackson's UTF-8 generator wrote it
 * before (so the lines of old and new servers look alike; {@code JsonBytesTest} holds it to that): {@code "} and
 * {@code \} escaped, \b \t \f \n \r short, other control characters and every UTF-16 surrogate as {@code \}{@code
 * uXXXX} (upper-case hex), the rest as UTF-8. One per thread, so a record costs no generator, no intermediate String
 * and no growing stream: only the copy that is handed to a device.
 */
final class JsonBytes {
  private static final byte[] HEX_UPPER = "0123456789ABCDEF".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
  private static final byte[] HEX_LOWER = "0123456789abcdef".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
  private static final byte[] HMAC_PREFIX = AuditHmac.PREFIX.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
  /** Per ASCII character: 0 written as is, -1 as \\u00XX, else the letter after the backslash. */
  private static final int[] ESCAPES = new int[128];
  /** A buffer grown beyond this (a huge record) is not kept for the next one. */
  private static final int KEEP_BYTES = 64 * 1024;
  private static final int MAX_DEPTH = 8;

  static {
    for (int i = 0; i < 32; i++) {
      ESCAPES[i] = -1;
    }
    ESCAPES['"'] = '"';
    ESCAPES['\\'] = '\\';
    ESCAPES['\b'] = 'b';
    ESCAPES['\t'] = 't';
    ESCAPES['\f'] = 'f';
    ESCAPES['\n'] = 'n';
    ESCAPES['\r'] = 'r';
  }

  private byte[] buf = new byte[1024];
  private int len;
  /** Per open object or array: whether a member was written (the next one needs a comma). */
  private final boolean[] more = new boolean[MAX_DEPTH];
  private int depth;
  /** Where a secret's HMAC lands before it is written as hex. */
  final byte[] mac = new byte[32];
  /**
   * The epoch second last written by {@link #time} and its {@code "YYYY-MM-DDTHH:MM:SS} (20 bytes): the records a
   * thread makes within one second copy them instead of working the date out again.
   */
  private long second = Long.MIN_VALUE;
  private final byte[] secondBytes = new byte[20];

  /**
   * A member name as {@link #string(byte[], String)} and the like take it ({@code "name":}): escaped once, for the
   * names a record type always writes, instead of per record.
   */
  static byte[] encodedName(String name) {
    JsonBytes j = new JsonBytes();
    j.quoted(name);
    j.raw((byte) ':');
    return j.toByteArray();
  }

  /**
   * Starts over for a record's body: the members of an object whose opening brace (and the chain head before its
   * first member) is written by the device.
   */
  JsonBytes body() {
    if (buf.length > KEEP_BYTES) {
      buf = new byte[1024];
    }
    len = 0;
    depth = 0;
    more[0] = false;
    return this;
  }

  /** Starts over, keeping the buffer however large it grew (a device's batch buffer). */
  void clear() {
    len = 0;
    depth = 0;
    more[0] = false;
  }

  int length() {
    return len;
  }

  byte[] array() {
    return buf;
  }

  /** The bytes written since {@link #body()}, as a new array. */
  byte[] toByteArray() {
    return Arrays.copyOf(buf, len);
  }

  JsonBytes string(String name, String value) {
    name(name);
    quoted(value);
    return this;
  }

  /** As {@link #string(String, String)}, with a name made by {@link #name(String)}. */
  JsonBytes string(byte[] name, String value) {
    name(name);
    quoted(value);
    return this;
  }

  /** A member only when {@code value} is not empty (empty optional members are left out). */
  JsonBytes nonEmpty(String name, String value) {
    return value.isEmpty() ? this : string(name, value);
  }

  JsonBytes nonEmpty(byte[] name, String value) {
    return value.isEmpty() ? this : string(name, value);
  }

  JsonBytes number(String name, long value) {
    name(name);
    decimal(value);
    return this;
  }

  JsonBytes number(byte[] name, long value) {
    name(name);
    decimal(value);
    return this;
  }

  JsonBytes bool(String name, boolean value) {
    name(name);
    ascii(value ? "true" : "false");
    return this;
  }

  JsonBytes bool(byte[] name, boolean value) {
    name(name);
    ascii(value ? "true" : "false");
    return this;
  }

  /** An ISO-8601 instant in UTC at millisecond precision, as {@link DateTimeFormatter#ISO_INSTANT} writes it. */
  JsonBytes time(String name, Instant t) {
    name(name);
    return time(t);
  }

  JsonBytes time(byte[] name, Instant t) {
    name(name);
    return time(t);
  }

  private JsonBytes time(Instant t) {
    long millis = t.toEpochMilli();
    long seconds = Math.floorDiv(millis, 1000);
    int milli = (int) Math.floorMod(millis, 1000);
    if (seconds != second && !formatSecond(seconds)) {
      quoted(DateTimeFormatter.ISO_INSTANT.format(Instant.ofEpochMilli(millis)));
      return this;
    }
    ensure(26);
    System.arraycopy(secondBytes, 0, buf, len, secondBytes.length);
    len += secondBytes.length;
    if (milli != 0) {
      buf[len++] = '.';
      digits(buf, len, milli, 3);
      len += 3;
    }
    buf[len++] = 'Z';
    buf[len++] = '"';
    return this;
  }

  /**
   * Makes {@code "YYYY-MM-DDTHH:MM:SS} of {@code seconds} the cached one; false (nothing cached) for a year
   * ISO_INSTANT writes otherwise than with four digits and no sign.
   */
  private boolean formatSecond(long seconds) {
    long days = Math.floorDiv(seconds, 86_400);
    int secondOfDay = (int) Math.floorMod(seconds, 86_400);
    // civil from days (H. Hinnant's algorithm), for the years ISO_INSTANT writes with four digits and no sign
    long z = days + 719_468;
    long era = Math.floorDiv(z, 146_097);
    long doe = z - era * 146_097;
    long yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153;
    int day = (int) (doy - (153 * mp + 2) / 5 + 1);
    int month = (int) (mp < 10 ? mp + 3 : mp - 9);
    long year = yoe + era * 400 + (month <= 2 ? 1 : 0);
    if (year < 0 || year > 9999) {
      return false;
    }
    byte[] b = secondBytes;
    b[0] = '"';
    digits(b, 1, (int) year, 4);
    b[5] = '-';
    digits(b, 6, month, 2);
    b[8] = '-';
    digits(b, 9, day, 2);
    b[11] = 'T';
    digits(b, 12, secondOfDay / 3600, 2);
    b[14] = ':';
    digits(b, 15, secondOfDay / 60 % 60, 2);
    b[17] = ':';
    digits(b, 18, secondOfDay % 60, 2);
    second = seconds;
    return true;
  }

  /** {@code "hmac-sha256:<hex>"} of the 32 bytes in {@link #mac}. */
  JsonBytes hmac(String name) {
    name(name);
    ensure(HMAC_PREFIX.length + 2 * mac.length + 2);
    buf[len++] = '"';
    System.arraycopy(HMAC_PREFIX, 0, buf, len, HMAC_PREFIX.length);
    len += HMAC_PREFIX.length;
    hex(mac, 0, mac.length);
    buf[len++] = '"';
    return this;
  }

  JsonBytes startObject(String name) {
    name(name);
    ensure(1);
    buf[len++] = '{';
    push();
    return this;
  }

  JsonBytes startObject(byte[] name) {
    name(name);
    ensure(1);
    buf[len++] = '{';
    push();
    return this;
  }

  JsonBytes startArray(byte[] name) {
    name(name);
    ensure(1);
    buf[len++] = '[';
    push();
    return this;
  }

  /** A string element of the open array. */
  JsonBytes element(String value) {
    comma();
    quoted(value);
    return this;
  }

  JsonBytes endObject() {
    ensure(1);
    buf[len++] = '}';
    depth--;
    return this;
  }

  JsonBytes endArray() {
    ensure(1);
    buf[len++] = ']';
    depth--;
    return this;
  }

  /** Closes the body's object. */
  JsonBytes end() {
    ensure(1);
    buf[len++] = '}';
    return this;
  }

  /** Appends lower-case hex of {@code bytes[from, to)} (chain hashes, HMACs). */
  void hex(byte[] bytes, int from, int to) {
    ensure(2 * (to - from));
    for (int i = from; i < to; i++) {
      buf[len++] = HEX_LOWER[(bytes[i] >> 4) & 0xF];
      buf[len++] = HEX_LOWER[bytes[i] & 0xF];
    }
  }

  /** Appends bytes as they are (a line head, a body made elsewhere). */
  void raw(byte[] bytes, int from, int length) {
    ensure(length);
    System.arraycopy(bytes, from, buf, len, length);
    len += length;
  }

  void raw(byte b) {
    ensure(1);
    buf[len++] = b;
  }

  /** Appends the decimal digits of {@code value}. */
  void decimal(long value) {
    ascii(Long.toString(value));
  }

  private void push() {
    if (depth + 1 >= MAX_DEPTH) {
      throw new IllegalStateException("records nest " + MAX_DEPTH + " deep at most");
    }
    more[++depth] = false;
  }

  private void comma() {
    if (more[depth]) {
      ensure(1);
      buf[len++] = ',';
    }
    more[depth] = true;
  }

  private void name(String name) {
    comma();
    quoted(name);
    ensure(1);
    buf[len++] = ':';
  }

  private void name(byte[] name) {
    comma();
    raw(name, 0, name.length);
  }

  private void ascii(String s) {
    int n = s.length();
    ensure(n);
    for (int i = 0; i < n; i++) {
      buf[len++] = (byte) s.charAt(i);
    }
  }

  private static void digits(byte[] b, int at, int value, int width) {
    for (int i = at + width - 1; i >= at; i--) {
      b[i] = (byte) ('0' + value % 10);
      value /= 10;
    }
  }

  private void quoted(String s) {
    int n = s.length();
    ensure(n * 6 + 2); // at worst every char a \\uXXXX escape
    byte[] b = buf;
    int p = len;
    b[p++] = '"';
    for (int i = 0; i < n; i++) {
      char c = s.charAt(i);
      if (c < 0x80) {
        int e = ESCAPES[c];
        if (e == 0) {
          b[p++] = (byte) c;
        } else if (e > 0) {
          b[p++] = '\\';
          b[p++] = (byte) e;
        } else {
          p = unicodeEscape(b, p, c);
        }
      } else if (c < 0x800) {
        b[p++] = (byte) (0xC0 | (c >> 6));
        b[p++] = (byte) (0x80 | (c & 0x3F));
      } else if (Character.isSurrogate(c)) {
        // as Jackson's UTF-8 generator writes them (it does not combine pairs into 4-byte UTF-8)
        p = unicodeEscape(b, p, c);
      } else {
        b[p++] = (byte) (0xE0 | (c >> 12));
        b[p++] = (byte) (0x80 | ((c >> 6) & 0x3F));
        b[p++] = (byte) (0x80 | (c & 0x3F));
      }
    }
    b[p++] = '"';
    len = p;
  }

  private static int unicodeEscape(byte[] b, int p, char c) {
    b[p++] = '\\';
    b[p++] = 'u';
    b[p++] = HEX_UPPER[(c >> 12) & 0xF];
    b[p++] = HEX_UPPER[(c >> 8) & 0xF];
    b[p++] = HEX_UPPER[(c >> 4) & 0xF];
    b[p++] = HEX_UPPER[c & 0xF];
    return p;
  }

  private void ensure(int more) {
    if (len + more > buf.length) {
      buf = Arrays.copyOf(buf, Math.max(buf.length * 2, len + more));
    }
  }
}
