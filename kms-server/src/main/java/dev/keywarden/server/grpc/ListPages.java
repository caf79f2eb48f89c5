package dev.keywarden.server.grpc;

import dev.keywarden.failure.KeywardenException;
import java.util.List;
import java.util.function.Function;

/**
 * The one page rule of the paged List RPCs (limit and after in the request, next_after in the response): a page holds
 * 1..{@link #MAX} entries, {@link #DEFAULT} when the request names no limit, so no answer grows with the data.
 */
public final class ListPages {
  /** The largest page a request may ask for. */
  public static final int MAX = 10_000;
  /** The page when a request's limit is 0. */
  public static final int DEFAULT = 1_000;

  private ListPages() {}

  /** The page size a request's {@code limit} asks for; INVALID_ARGUMENT on field limit outside 0..{@link #MAX}. */
  public static int limit(int requested) {
    int limit = requested == 0 ? DEFAULT : requested;
    if (limit < 1 || limit > MAX) {
      throw KeywardenException.invalidField("limit", "limit must be 1..10,000 (0 means 1,000); got " + requested);
    }
    return limit;
  }

  /** The next page's after: the last entry of a full page, "" when {@code page} is the last. */
  public static String nextAfter(List<String> page, int limit) {
    return nextAfter(page, limit, Function.identity());
  }

  /** The next page's after for a page of records: the {@code cursor} of a full page's last, "" for the last page. */
  public static <T> String nextAfter(List<T> page, int limit, Function<T, String> cursor) {
    return page.size() == limit ? cursor.apply(page.get(page.size() - 1)) : "";
  }
}
