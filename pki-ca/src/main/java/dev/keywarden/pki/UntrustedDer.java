package dev.keywarden.pki;

import dev.keywarden.failure.KeywardenException;
import java.io.IOException;

/**
 * The one step in which the CA reads DER or PEM it did not make (CSRs, OCSP requests, external CA certificates).
 * Bouncy Castle builds its objects lazily and reports malformed input with whatever RuntimeException the structure
 * runs into (IllegalArgumentException, ClassCastException, IllegalStateException, ArrayIndexOutOfBoundsException, …)
 * at the first read of a field, not in the constructor. So the parse and every read of the parsed object that can
 * meet unchecked structure happen inside {@link #read}, and any failure there becomes INVALID_ARGUMENT with the
 * given refusal, never a library message or a stack trace. A KeywardenException from inside passes through as it is.
 */
final class UntrustedDer {
  /** Deeper than any CSR, certificate or OCSP request nests (about 12 levels); Bouncy Castle recurses per level. */
  static final int MAX_DEPTH = 64;

  private UntrustedDer() {}

  /** What reads the untrusted bytes. */
  @FunctionalInterface
  interface Read<T> {
    T read() throws IOException;
  }

  /** Runs {@code read}; any failure but a KeywardenException becomes INVALID_ARGUMENT saying {@code refusal}. */
  static <T> T read(String refusal, Read<T> read) {
    try {
      return read.read();
    } catch (KeywardenException e) {
      throw e;
    } catch (IOException | RuntimeException e) {
      throw KeywardenException.invalid(refusal);
    } catch (StackOverflowError e) {
      // The backstop for nesting hidden inside OCTET or BIT STRINGs, which checkDer does not open: the recursion
      // is Bouncy Castle's parser over our own bytes and unwinds cleanly.
      throw KeywardenException.invalid(refusal);
    }
  }

  /**
   * Checks, without recursion, that {@code der} is one DER value with definite lengths that fit and at most
   * {@link #MAX_DEPTH} levels of nesting, before a recursive parser sees it: BER's indefinite lengths nest a level
   * in two bytes, so 16 KiB was enough to overflow Bouncy Castle's stack.
   */
  static void checkDer(String refusal, byte[] der) {
    int[] ends = new int[MAX_DEPTH + 1];
    ends[0] = der.length;
    int depth = 0;
    int pos = 0;
    if (der.length == 0) {
      throw KeywardenException.invalid(refusal + ": empty");
    }
    while (pos < der.length) {
      while (depth > 0 && pos == ends[depth]) {
        depth--;
      }
      if (depth == 0 && pos > 0) {
        throw KeywardenException.invalid(refusal + ": more bytes after the DER value");
      }
      int tag = der[pos++] & 0xff;
      if ((tag & 0x1f) == 0x1f) {
        int tagBytes = 0;
        do {
          if (pos >= ends[depth] || ++tagBytes > 4) {
            throw KeywardenException.invalid(refusal + ": a tag is cut short or too long");
          }
        } while ((der[pos++] & 0x80) != 0);
      }
      if (pos >= ends[depth]) {
        throw KeywardenException.invalid(refusal + ": a length is missing");
      }
      int first = der[pos++] & 0xff;
      long length = first;
      if (first == 0x80) {
        throw KeywardenException.invalid(refusal + ": an indefinite length, which DER does not allow");
      }
      if (first > 0x80) {
        int n = first & 0x7f;
        if (n > 4 || n > ends[depth] - pos) {
          throw KeywardenException.invalid(refusal + ": a length is cut short or too long");
        }
        length = 0;
        for (int i = 0; i < n; i++) {
          length = (length << 8) | (der[pos++] & 0xff);
        }
      }
      if (length > ends[depth] - pos) {
        throw KeywardenException.invalid(refusal + ": a length runs past the end of its container");
      }
      if ((tag & 0x20) != 0) {
        if (depth == MAX_DEPTH) {
          throw KeywardenException.invalid(refusal + ": nested deeper than " + MAX_DEPTH + " levels");
        }
        ends[++depth] = pos + (int) length;
      } else {
        pos += (int) length;
      }
    }
  }
}
