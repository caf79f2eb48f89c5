package dev.keywarden.bench;

import static dev.keywarden.bench.GrowthReport.ms;
import static dev.keywarden.bench.GrowthReport.n;
import static dev.keywarden.bench.GrowthReport.s;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.keywarden.failure.KeywardenException;
import dev.keywarden.server.auth.TokenRecord;
import dev.keywarden.server.auth.TokenStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Issue #15, cost as the data grows, tokens: a store of 1,000 tokens beside one of 1,000,000 (95% expired), each
 * written as TokenStore writes it (the record under sys/tokens/ACCESSOR and its expiry index entry), 5,000 per
 * transaction. Lookup by accessor with the cache emptied before each (so every lookup reads storage), then tidy of
 * the expired ones in its transactions of 500. Target: lookup time unchanged (p50 at 1,000,000 ≤ 1.25× at 1,000).
 * Args: [report (benchmarks/results/token-growth.md)] [sizes (1000,1000000)] [lookups (20000)].
 */
public final class TokenGrowthBenchmark {
  private static final int BATCH = 5000;
  private static final ObjectMapper JSON = new ObjectMapper();

  private record Store(int size, BenchCore bench, TokenStore tokens, List<String> live, double writeS) {}

  private record Result(int size, double writeS, long dbBytes, double p50, double p99, double expiredP50,
      double tidyMs, int removed, int batches) {}

  public static void main(String[] args) throws Exception {
    Path out = Path.of(args.length > 0 ? args[0] : "benchmarks/results/token-growth.md");
    int[] sizes = Arrays.stream((args.length > 1 ? args[1] : "1000,1000000").split(","))
        .mapToInt(Integer::parseInt).toArray();
    int lookups = args.length > 2 ? Integer.parseInt(args[2]) : 20_000;
    String machine = GrowthReport.machine();
    List<String> labels = new ArrayList<>();
    for (int size : sizes) {
      labels.add(BenchCore.newToken());
    }
    List<Store> stores = new ArrayList<>();
    for (int i = 0; i < sizes.length; i++) {
      stores.add(build(sizes[i], labels.get(i)));
    }
    // lookups interleaved across the stores, 4 rounds, so a busy moment hits both alike
    List<List<long[]>> live = new ArrayList<>();
    List<List<long[]>> expired = new ArrayList<>();
    for (Store st : stores) {
      lookup(st, 2000, false); // warm-up
      live.add(new ArrayList<>());
      expired.add(new ArrayList<>());
    }
    for (int r = 0; r < 4; r++) {
      for (int i = 0; i < stores.size(); i++) {
        live.get(i).add(lookup(stores.get(i), lookups / 4, false));
        expired.get(i).add(lookup(stores.get(i), lookups / 8, true));
      }
    }
    List<Result> results = new ArrayList<>();
    for (int i = 0; i < stores.size(); i++) {
      Store st = stores.get(i);
      long[] l = merge(live.get(i));
      long[] e = merge(expired.get(i));
      long t0 = System.nanoTime();
      TokenStore.Tidied t = st.tokens().tidy(Instant.now(), Integer.MAX_VALUE);
      double tidyMs = (System.nanoTime() - t0) / 1e6;
      System.out.printf(Locale.ROOT, "%,d tokens: tidy removed %,d in %d batches, %.0f ms%n", st.size(), t.removed(),
          t.batches(), tidyMs);
      results.add(new Result(st.size(), st.writeS(), Files.size(st.bench().dir.resolve("keywarden.db")),
          GrowthReport.percentileMs(l, 50), GrowthReport.percentileMs(l, 99), GrowthReport.percentileMs(e, 50),
          tidyMs, t.removed(), t.batches()));
    }
    for (Store st : stores) {
      st.bench().close();
      st.bench().deleteFiles();
    }
    GrowthReport.write(out, report(machine, results, lookups));
    System.exit(0);
  }

  private static long[] merge(List<long[]> parts) {
    long[] all = parts.stream().flatMapToLong(Arrays::stream).toArray();
    Arrays.sort(all);
    return all;
  }

  private static Store build(int size, String label) throws Exception {
    SecureRandom random = new SecureRandom();
    TokenStore[] made = new TokenStore[1];
    BenchCore bench = new BenchCore("kw-growth-tokens-", label, core -> {
      made[0] = new TokenStore(core, Clock.systemUTC(), random);
      return made[0]::initialize;
    });
    TokenStore tokens = made[0];
    long now = System.currentTimeMillis();
    int expired = expiredCount(size);
    List<String> live = new ArrayList<>();
    long t0 = System.nanoTime();
    for (int from = 0; from < size; from += BATCH) {
      List<String> keys = new ArrayList<>();
      List<byte[]> values = new ArrayList<>();
      for (int i = from; i < Math.min(size, from + BATCH); i++) {
        String accessor;
        long expire;
        if (i < expired) {
          accessor = expiredAccessor(size, i);
          expire = now - 3_600_000;
        } else {
          byte[] a = new byte[16];
          random.nextBytes(a);
          accessor = HexFormat.of().formatHex(a);
          expire = now + 30L * 86_400_000;
          live.add(accessor);
        }
        keys.add(accessor);
        values.add(JSON.writeValueAsBytes(new TokenRecord(accessor, List.of("app"), "bench", now - 7_200_000,
            expire, null, null)));
      }
      List<Long> expires = new ArrayList<>();
      for (int i = from; i < Math.min(size, from + BATCH); i++) {
        expires.add(i < expired ? now - 3_600_000 : now + 30L * 86_400_000);
      }
      bench.core.storage().atomically(tx -> {
        for (int i = 0; i < keys.size(); i++) {
          tx.put("sys/tokens/" + keys.get(i), values.get(i));
          tx.put(TokenStore.expiryKey(expires.get(i), keys.get(i)), new byte[0]);
        }
        return null;
      });
    }
    double writeS = (System.nanoTime() - t0) / 1e9;
    System.out.printf(Locale.ROOT, "%,d tokens written in %.1f s%n", size, writeS);
    return new Store(size, bench, tokens, live, writeS);
  }

  /** Lookup times (ns), sorted; each after emptying the cache, of random live (or expired) tokens. */
  private static long[] lookup(Store st, int count, boolean expired) {
    Random random = new Random(count);
    long[] nanos = new long[count];
    for (int i = 0; i < count; i++) {
      String accessor = expired ? expiredAccessor(st.size(), random.nextInt(Math.max(1, expiredCount(st.size()))))
          : st.live().get(random.nextInt(st.live().size()));
      st.tokens().clearCache();
      long s = System.nanoTime();
      try {
        st.tokens().byAccessor(accessor);
        if (expired) {
          throw new IllegalStateException("an expired token was served");
        }
      } catch (KeywardenException e) {
        if (!expired) {
          throw e;
        }
      }
      nanos[i] = System.nanoTime() - s;
    }
    Arrays.sort(nanos);
    return nanos;
  }

  /** The store's expired tokens: 95% of a store of 1,000,000, none of a small one. */
  private static int expiredCount(int size) {
    return size >= 100_000 ? size / 100 * 95 : 0;
  }

  /** Expired tokens get accessors derived from their index, so lookups need no list of them. */
  private static String expiredAccessor(int size, int i) {
    return String.format(Locale.ROOT, "e%031x", i);
  }

  private static String report(String machine, List<Result> results, int lookups) {
    Result base = results.get(0);
    StringBuilder b = new StringBuilder("# Tokens as the store grows\n\n").append(machine)
        .append("- Setup: per size, its own SQLite store and SoftHSM2 token; token records written straight into"
            + " storage as TokenStore writes them (the record under sys/tokens/ACCESSOR, an expiry index entry under"
            + " sys/token-expiry/), ").append(n(BATCH)).append(" per transaction; in the large store 95% expired an"
            + " hour ago. Lookup: TokenStore.byAccessor of a random token with its cache emptied first (so each reads"
            + " storage), ").append(n(lookups)).append(" live and ").append(n(lookups / 2))
        .append(" expired (refused) lookups per store in 4 rounds interleaved across the stores. Tidy: TokenStore"
            + ".tidy(now), transactions of 500.\n\n")
        .append("| Tokens | expired | written in | SQLite file | lookup p50 | lookup p99 | vs 1,000 | expired token"
            + " refused, p50 | tidy | removed | Target | Met |\n")
        .append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|:---:|\n");
    for (Result r : results) {
      double ratio = r.p50() / base.p50();
      boolean target = r != base;
      b.append("| ").append(n(r.size())).append(" | ").append(n(expiredCount(r.size()))).append(" | ")
          .append(s(r.writeS())).append(" | ").append(n(r.dbBytes() >> 20)).append(" MiB | ").append(ms(r.p50()))
          .append(" | ").append(ms(r.p99())).append(" | ").append(String.format(Locale.ROOT, "%.2f×", ratio))
          .append(" | ").append(r.expiredP50() > 0 && expiredCount(r.size()) > 0 ? ms(r.expiredP50()) : "")
          .append(" | ").append(ms(r.tidyMs())).append(" | ").append(n(r.removed())).append(" in ")
          .append(n(r.batches())).append(" transactions | ")
          .append(target ? "lookup p50 ≤ 1.25× the small store's; tidy in bounded batches" : "").append(" | ")
          .append(target ? (ratio <= 1.25 && r.removed() == expiredCount(r.size()) ? "yes" : "**no**") : "")
          .append(" |\n");
    }
    b.append("\nTidy reads only the expired range of the expiry index and those tokens (TokenTidyTest"
        + ".tidyReadsOnlyExpiredTokensAndRemovesThemInBoundedBatches); the server runs it every 10 minutes, at most"
        + " 100,000 tokens a run.\n");
    return b.toString();
  }
}
