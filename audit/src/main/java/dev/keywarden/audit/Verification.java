package dev.keywarden.audit;

/**
 * What {@link AuditVerifier} found in a log (one file or a sequence of rotated files).
 *
 * @param problem the first problem, or null when the log is intact
 * @param records lines read and checked
 * @param checkpoints checkpoint signatures verified
 * @param firstSeq the sequence number of the first line (1 for a chain's start; more for a file that continues one)
 * @param lastSeq the sequence number of the last good line
 * @param lastHash the SHA-256 of the last good line (what the next file's first line must carry as prev)
 * @param closed whether the log ends with a final checkpoint (a device closed, disabled or rotated)
 * @param unsignedRecords lines after the last checkpoint: no signature covers them yet
 */
public record Verification(Problem problem, long records, long checkpoints, long firstSeq, long lastSeq,
                           String lastHash, boolean closed, long unsignedRecords) {

  /** What kind of problem. */
  public enum Kind {
    /** A file could not be read. */
    UNREADABLE,
    /** A line is not an audit record (not JSON, a field missing or of the wrong type, too long). */
    MALFORMED,
    /** The first line neither starts a chain nor continues one: the lines before it are missing. */
    MISSING_START,
    /** A line's sequence number is not the one after the previous line's: lines deleted, swapped or inserted. */
    OUT_OF_SEQUENCE,
    /** A line's prev is not the SHA-256 of the line before: that line (or this one) was altered. */
    BROKEN_CHAIN,
    /** A checkpoint's signature does not verify with the key given. */
    BAD_SIGNATURE,
    /** The log was cut: its last line is incomplete, or (when a closed log is required) its final checkpoint is gone. */
    TRUNCATED
  }

  /**
   * The first problem found.
   *
   * @param file the file's name as given
   * @param line the 1-based line in that file: the first line that is not as it was written
   */
  public record Problem(Kind kind, String file, long line, String message) {}

  /** True when no problem was found. */
  public boolean intact() {
    return problem == null;
  }

  /** One paragraph for the operator. */
  public String summary() {
    if (problem != null) {
      return "NOT INTACT (" + problem.kind() + "): " + problem.file() + " line " + problem.line() + ": "
          + problem.message();
    }
    if (records == 0) {
      return "intact: no records";
    }
    StringBuilder s = new StringBuilder("intact: ").append(records).append(" records (seq ").append(firstSeq)
        .append("..").append(lastSeq).append("), ").append(checkpoints).append(" checkpoint signatures verified");
    if (firstSeq > 1) {
      s.append("; it continues a chain whose earlier records are in other files (give them too to check the link)");
    }
    if (closed) {
      s.append("; ends with a final checkpoint");
    } else {
      s.append("; it does not end with a final checkpoint: the device is still writing, the server stopped without "
          + "closing it, or the tail was cut");
      if (unsignedRecords > 0) {
        s.append(", and its last ").append(unsignedRecords)
            .append(" records follow the last checkpoint, so no signature covers them yet");
      }
    }
    return s.toString();
  }
}
