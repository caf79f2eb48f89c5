package dev.keywarden.bench;

import static dev.keywarden.bench.GrowthReport.ms;
import static dev.keywarden.bench.GrowthReport.n;
import static dev.keywarden.bench.GrowthReport.s;

import dev.keywarden.hsm.KeyType;
import dev.keywarden.pki.BulkCertificates;
import dev.keywarden.pki.IssuerInfo;
import dev.keywarden.pki.PkiEngine;
import dev.keywarden.pki.RequestedNames;
import dev.keywarden.pki.RevokedCertificate;
import dev.keywarden.pki.Role;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Random;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.ocsp.CertificateID;
import org.bouncycastle.cert.ocsp.OCSPReqBuilder;
import org.bouncycastle.cert.ocsp.OCSPResp;
import org.bouncycastle.operator.bc.BcDigestCalculatorProvider;

/**
 * Issue #15, cost as the data grows, PKI: 10,000, 100,000 and 1,000,000 stored certificates of one issuer (among
 * ten issuers), 1% then 10% of them revoked; per step the CRL's build time and size, OCSP response time, a page of
 * {@code pki list} at the start, middle and end, and tidy (nothing due, then the 10% that expired). Records are written
 * straight into storage by {@link BulkCertificates} in the engine's record format, 5,000 per transaction.
 * Args: [report (benchmarks/results/pki-growth.md)] [sizes (10000,100000,1000000)] [OCSP requests per step (2000)].
 */
public final class PkiGrowthBenchmark {
  private static final int BATCH = 5000;
  private static final int ISSUERS = 10;

  private record Row(int size, String revoked, double crlMs, int crlBytes, double readMs, double ocspP50,
      double ocspP99, String note) {}

  private record Sized(int size, double writeS, long dbBytes, double listFirst, double listMiddle, double listLast,
      double tidyNothingMs, double tidyMs, int tidied, int tidiedRevocations) {}

  public static void main(String[] args) throws Exception {
    Path out = Path.of(args.length > 0 ? args[0] : "benchmarks/results/pki-growth.md");
    int[] sizes = Arrays.stream((args.length > 1 ? args[1] : "10000,100000,1000000").split(","))
        .mapToInt(Integer::parseInt).toArray();
    int requests = args.length > 2 ? Integer.parseInt(args[2]) : 2000;
    String machine = GrowthReport.machine();
    List<String> tokens = new ArrayList<>();
    for (int size : sizes) {
      tokens.add(BenchCore.newToken());
    }
    List<Row> rows = new ArrayList<>();
    List<Sized> sized = new ArrayList<>();
    for (int i = 0; i < sizes.length; i++) {
      run(sizes[i], tokens.get(i), requests, rows, sized);
    }
    GrowthReport.write(out, report(machine, rows, sized, requests));
    System.exit(0);
  }

  private static void run(int size, String token, int requests, List<Row> rows, List<Sized> sized) throws Exception {
    BenchCore bench = new BenchCore("kw-growth-pki-", token);
    try {
      PkiEngine pki = new PkiEngine(bench.core, Clock.systemUTC(), bench.random);
      IssuerInfo root = null;
      for (int i = 0; i < ISSUERS; i++) {
        IssuerInfo made = pki.generateRoot("Bench Root " + i, KeyType.EC_P256, Duration.ofDays(3650),
            Optional.empty());
        if (i == ISSUERS / 2) {
          root = made;
        }
      }
      pki.writeRole(Role.builder("web").allowedDomains("example.com").allowSubdomains(true).serverFlag(true)
          .ttl(Duration.ofDays(30)).maxTtl(Duration.ofDays(30)).build());
      byte[] der = pki.issue("web", RequestedNames.commonName("bench.example.com"), Optional.empty(),
          Optional.of(root.id())).certificate().certificateDer();
      long now = Instant.now().getEpochSecond();
      long t0 = System.nanoTime();
      // every tenth certificate expired yesterday; the rest expire in 30 days
      List<String> serials = BulkCertificates.write(bench.core, root.id(), der, size, BATCH,
          i -> i % 10 == 0 ? now - 86_400 : now + 30 * 86_400, bench.random);
      double writeS = (System.nanoTime() - t0) / 1e9;
      System.out.printf(Locale.ROOT, "%,d certificates written in %.1f s%n", size, writeS);
      X509CertificateHolder ca = new X509CertificateHolder(root.certificateDer());

      BulkCertificates.revoke(bench.core, serials.subList(0, size / 100), now, BATCH);
      rows.add(measure(pki, bench, root.id(), ca, serials, size, "1%", requests));
      BulkCertificates.revoke(bench.core, serials.subList(size / 100, size / 10), now, BATCH);
      rows.add(measure(pki, bench, root.id(), ca, serials, size, "10%", requests));

      List<String> sorted = pki.listCertificates("", 1);
      double first = timeMs(() -> pki.listCertificates("", 1000));
      List<String> sortedSerials = new ArrayList<>(serials);
      sortedSerials.sort(null);
      String middle = sortedSerials.get(size / 2);
      String nearEnd = sortedSerials.get(Math.max(0, size - 500));
      double mid = timeMs(() -> pki.listCertificates(middle, 1000));
      double last = timeMs(() -> pki.listCertificates(nearEnd, 1000));
      if (sorted.isEmpty()) {
        throw new IllegalStateException("nothing listed");
      }
      long tn = System.nanoTime();
      PkiEngine.Tidied none = pki.tidy(Instant.ofEpochSecond(now - 2 * 86_400));
      double tidyNothing = (System.nanoTime() - tn) / 1e6;
      if (none.certificates() != 0) {
        throw new IllegalStateException("tidy before anything expired removed " + none.certificates());
      }
      long tt = System.nanoTime();
      PkiEngine.Tidied tidied = pki.tidy(Instant.ofEpochSecond(now));
      double tidyMs = (System.nanoTime() - tt) / 1e6;
      long dbBytes = Files.size(bench.dir.resolve("keywarden.db"));
      System.out.printf(Locale.ROOT, "%,d: tidy removed %,d certificates, %,d revocations in %.0f ms%n", size,
          tidied.certificates(), tidied.revocations(), tidyMs);
      sized.add(new Sized(size, writeS, dbBytes, first, mid, last, tidyNothing, tidyMs, tidied.certificates(),
          tidied.revocations()));
    } finally {
      bench.close();
      bench.deleteFiles();
    }
  }

  /** Median of 5 runs of {@code work}, ms. */
  private static double timeMs(Runnable work) {
    double[] t = new double[5];
    for (int i = 0; i < t.length; i++) {
      long s = System.nanoTime();
      work.run();
      t[i] = (System.nanoTime() - s) / 1e6;
    }
    return GrowthReport.median(t);
  }

  private static Row measure(PkiEngine pki, BenchCore bench, String issuerId, X509CertificateHolder ca,
      List<String> serials, int size, String revoked, int requests) throws Exception {
    double[] builds = new double[3];
    int bytes = 0;
    for (int i = 0; i < builds.length; i++) {
      BulkCertificates.forgetCrl(bench.core, issuerId);
      long s = System.nanoTime();
      bytes = pki.crl(issuerId).length;
      builds[i] = (System.nanoTime() - s) / 1e6;
    }
    // the part of a build that reads the revocation entries (pages of 1,000, as a build reads them), timed on its own
    double[] reads = new double[3];
    for (int i = 0; i < reads.length; i++) {
      long s = System.nanoTime();
      String after = "";
      List<RevokedCertificate> page;
      do {
        page = pki.listRevoked(issuerId, after, 1_000);
        after = page.isEmpty() ? after : page.get(page.size() - 1).serialHex();
      } while (page.size() == 1_000);
      reads[i] = (System.nanoTime() - s) / 1e6;
    }
    Random random = new Random(size);
    var digests = new BcDigestCalculatorProvider();
    List<byte[]> reqs = new ArrayList<>();
    for (int i = 0; i < requests; i++) {
      String serial = serials.get(random.nextInt(serials.size()));
      reqs.add(new OCSPReqBuilder().addRequest(new CertificateID(digests.get(CertificateID.HASH_SHA1), ca,
          new BigInteger(serial, 16))).build().getEncoded());
    }
    for (int i = 0; i < Math.min(500, requests); i++) { // warm-up
      pki.ocsp(reqs.get(i));
    }
    long[] nanos = new long[requests];
    for (int i = 0; i < requests; i++) {
      long s = System.nanoTime();
      byte[] resp = pki.ocsp(reqs.get(i));
      nanos[i] = System.nanoTime() - s;
      if (new OCSPResp(resp).getStatus() != OCSPResp.SUCCESSFUL) {
        throw new IllegalStateException("OCSP failed");
      }
    }
    Arrays.sort(nanos);
    System.out.printf(Locale.ROOT, "%,d certificates, %s revoked: CRL %.0f ms, %,d B; OCSP p50 %.2f ms%n", size,
        revoked, GrowthReport.median(builds), bytes, GrowthReport.percentileMs(nanos, 50));
    return new Row(size, revoked, GrowthReport.median(builds), bytes, GrowthReport.median(reads),
        GrowthReport.percentileMs(nanos, 50),
        GrowthReport.percentileMs(nanos, 99), String.join(", ", Arrays.stream(builds)
            .mapToObj(b -> String.format(Locale.ROOT, "%.0f", b)).toList()));
  }

  private static String report(String machine, List<Row> rows, List<Sized> sized, int requests) {
    StringBuilder b = new StringBuilder("# PKI as the number of stored certificates grows\n\n").append(machine)
        .append("- Setup: per size, its own SQLite store and SoftHSM2 token; ").append(ISSUERS)
        .append(" ec-p256 roots, all certificates under one of them. Certificate records are written straight into"
            + " storage by BulkCertificates in the engine's record format and layout (record, expiry index entry;"
            + " revocation entry and revoked mark as PkiEngine.revoke writes them), ").append(n(BATCH))
        .append(" per transaction; every record holds the same real certificate's DER (one issued by the engine),"
            + " as signing a million certificates is not what is measured. Every tenth certificate expired a day"
            + " ago. CRL: built after its stored copy is deleted, median of 3 builds (signed in SoftHSM2). OCSP:")
        .append(" ").append(n(requests)).append(" requests one after another (SHA-1 CertID, a random stored serial, 500"
            + " warm-up), PkiEngine.ocsp (parse, lookup, sign in SoftHSM2). pki list: one page of 1,000, median of"
            + " 5. Tidy: first at a time before anything expired, then now (removes the expired tenth).\n\n")
        .append("| Certificates | revoked | CRL build | of which reading the revocations | CRL size | OCSP p50 |"
            + " OCSP p99 | Target | Met |\n")
        .append("|---:|---:|---:|---:|---:|---:|---:|---|:---:|\n");
    for (Row r : rows) {
      boolean crlTarget = r.size() >= 1_000_000 && r.revoked().equals("10%");
      boolean met = r.crlMs() <= 2000 && r.crlBytes() <= 10 << 20;
      b.append("| ").append(n(r.size())).append(" | ").append(r.revoked()).append(" | ").append(ms(r.crlMs()))
          .append(" (").append(r.note()).append(") | ").append(ms(r.readMs())).append(" | ")
          .append(String.format(Locale.ROOT, "%.2f MiB",
              r.crlBytes() / 1048576.0)).append(" | ").append(ms(r.ocspP50())).append(" | ")
          .append(ms(r.ocspP99())).append(" | ")
          .append(crlTarget ? "CRL ≤ 2 s to build and ≤ 10 MiB, else partition" : "").append(" | ")
          .append(crlTarget ? (met ? "yes (no partitioning needed)" : "**no**") : "").append(" |\n");
    }
    b.append("\n| Certificates | written in | SQLite file | pki list page 1 | middle page | last page |"
        + " tidy, nothing due | tidy of the expired tenth | removed |\n|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
    for (Sized z : sized) {
      b.append("| ").append(n(z.size())).append(" | ").append(s(z.writeS())).append(" | ")
          .append(n(z.dbBytes() >> 20)).append(" MiB | ").append(ms(z.listFirst())).append(" | ")
          .append(ms(z.listMiddle())).append(" | ").append(ms(z.listLast())).append(" | ")
          .append(ms(z.tidyNothingMs())).append(" | ").append(ms(z.tidyMs())).append(" | ")
          .append(n(z.tidied())).append(" certificates, ").append(n(z.tidiedRevocations()))
          .append(" revocations |\n");
    }
    b.append("\nOCSP finds its responder by the request's issuer key hash and the certificate by serial (PkiIndexesTest"
        + ".ocspFindsTheResponderByKeyHashWithoutListingIssuersOrCertificates), so its time should not move with the"
        + " number of certificates or issuers; tidy reads only the expired range of the expiry index"
        + " (PkiIndexesTest.tidyReadsOnlyTheExpiredRangeOfTheExpiryIndexAndDeletesInBoundedBatches) and deletes 500"
        + " certificates per transaction. The CRL lists the issuer's revocation entries (pki/revoked/ISSUER/), never"
        + " the certificates.\n");
    return b.toString();
  }
}
