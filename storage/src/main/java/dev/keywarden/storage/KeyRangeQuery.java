package dev.keywarden.storage;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * The one SQL listing of keys, for SQLite and PostgreSQL alike: a range on the primary key instead of LIKE (so %, _
 * and \ in the prefix stay literal and the index is used), optionally after a key and limited, for a page.
 */
final class KeyRangeQuery {
  private KeyRangeQuery() {}

  /**
   * The keys under {@code prefix} after {@code after} ("" for none), at most {@code limit} (0 for all), in the store's
   * code point order; SQL failures become what {@code failure} makes of them.
   */
  static List<String> keys(Connection connection, String prefix, String after, int limit,
      Function<SQLException, RuntimeException> failure) {
    return select(connection, "key", prefix, after, limit, failure, rs -> rs.getString(1));
  }

  /** {@link #keys} with each key's value and version. */
  static List<StoredEntry> entries(Connection connection, String prefix, String after, int limit,
      Function<SQLException, RuntimeException> failure) {
    return select(connection, "key, value, version", prefix, after, limit, failure,
        rs -> new StoredEntry(rs.getString(1), rs.getBytes(2), rs.getLong(3)));
  }

  private interface Row<T> {
    T read(ResultSet rs) throws SQLException;
  }

  private static <T> List<T> select(Connection connection, String columns, String prefix, String after, int limit,
      Function<SQLException, RuntimeException> failure, Row<T> row) {
    Keys.check(prefix);
    String upper = Keys.upperBound(prefix);
    // One lower bound only: given both (key >= prefix AND key > after), SQLite's planner starts the range at the
    // prefix and filters up to after, so a page deep into a million keys read every key before it (1 s at 1,000,000).
    boolean fromAfter = !after.isEmpty() && compareCodePoints(after, prefix) >= 0;
    String sql = "SELECT " + columns + " FROM kv WHERE key " + (fromAfter ? ">" : ">=") + " ?"
        + (upper == null ? "" : " AND key < ?") + (after.isEmpty() || fromAfter ? "" : " AND key > ?")
        + " ORDER BY key" + (limit > 0 ? " LIMIT ?" : "");
    List<T> rows = new ArrayList<>();
    try (PreparedStatement s = connection.prepareStatement(sql)) {
      int i = 1;
      s.setString(i++, fromAfter ? after : prefix);
      if (upper != null) {
        s.setString(i++, upper);
      }
      if (!after.isEmpty() && !fromAfter) {
        s.setString(i++, after);
      }
      if (limit > 0) {
        s.setInt(i, limit);
      }
      try (ResultSet rs = s.executeQuery()) {
        while (rs.next()) {
          if (rs.getString(1).startsWith(prefix)) {
            rows.add(row.read(rs));
          }
        }
      }
    } catch (SQLException e) {
      throw failure.apply(e);
    }
    return List.copyOf(rows);
  }

  /** {@code a} against {@code b} in code point order (the stores' key order; String.compareTo is UTF-16's). */
  static int compareCodePoints(String a, String b) {
    int i = 0;
    int j = 0;
    while (i < a.length() && j < b.length()) {
      int x = a.codePointAt(i);
      int y = b.codePointAt(j);
      if (x != y) {
        return Integer.compare(x, y);
      }
      i += Character.charCount(x);
      j += Character.charCount(y);
    }
    return Integer.compare(a.length() - i, b.length() - j);
  }

  /** Checks a page's limit. */
  static int limit(int limit) {
    if (limit < 1) {
      throw new IllegalArgumentException("limit must be at least 1");
    }
    return limit;
  }
}
