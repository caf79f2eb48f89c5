package dev.keywarden.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Turns JMH's JSON results ({@code -rf json}) into a Markdown table: benchmark, size, ops/s ± error, and for each
 * engine operation its rate relative to the raw JDK operation at the same size (rewrap against raw decrypt followed by
 * raw encrypt). Usage: {@code ResultsTable IN.json OUT.md}.
 */
public final class ResultsTable {
  /** Engine benchmark → the raw JDK benchmark(s) it is compared with; two names mean "one after the other". */
  private static final Map<String, List<String>> BASELINES = Map.of(
      "encrypt", List.of("rawJdkAesGcmEncrypt"),
      "decrypt", List.of("rawJdkAesGcmDecrypt"),
      "rewrap", List.of("rawJdkAesGcmDecrypt", "rawJdkAesGcmEncrypt"),
      "signEcdsaP256", List.of("rawJdkSha256WithEcdsa"),
      "signEd25519", List.of("rawJdkEd25519"));
  /** The engine signs with Bouncy Castle; a second ratio shows how close it is to BC called directly. */
  private static final Map<String, String> BC_BASELINES = Map.of(
      "signEcdsaP256", "rawBcSha256WithEcdsa",
      "signEd25519", "rawBcEd25519");
  private static final double TARGET_ENCRYPT_RATIO = 0.8;

  private record Row(String benchmark, String size, double score, double error, String unit, int threads) {}

  private ResultsTable() {
  }

  public static void main(String[] args) throws IOException {
    if (args.length != 2) {
      System.err.println("usage: ResultsTable JMH_RESULTS.json OUT.md");
      System.exit(2);
    }
    JsonNode root = new ObjectMapper().readTree(Path.of(args[0]).toFile());
    List<Row> rows = new ArrayList<>();
    for (JsonNode r : root) {
      String fullName = r.get("benchmark").asText();
      JsonNode params = r.path("params");
      JsonNode size = params.has("caKeyType") ? params.path("caKeyType")
          : params.has("keyKind") ? params.path("keyKind") : params.path("size");
      JsonNode metric = r.get("primaryMetric");
      rows.add(new Row(fullName.substring(fullName.lastIndexOf('.') + 1), size.isMissingNode() ? "" : size.asText(),
          metric.get("score").asDouble(), metric.get("scoreError").asDouble(), metric.get("scoreUnit").asText(),
          r.get("threads").asInt()));
    }
    String md = markdown(rows);
    Path out = Path.of(args[1]);
    Files.writeString(out, md);
    System.out.print(md);
    System.out.println("written to " + out);
  }

  /** Target of SignCsr (no_store) against the ceiling: one raw PKCS#11 signature plus one CSR check, same run. */
  private static final double TARGET_PKI_CEILING_RATIO = 0.85;

  /**
   * PKI: each issuance benchmark beside the raw PKCS#11 signature of the same issuer key and beside the ceiling of any
   * issuance that checks its CSR (one signature plus one CSR check, their costs added: 1 / (1/sign + 1/check)).
   */
  private static String pkiMarkdown(List<Row> rows, Row rawSign) {
    StringBuilder s = new StringBuilder(
        "# PKI: SignCsr beside the raw PKCS#11 signature (ec-p256 issuer in SoftHSM2)\n\n");
    s.append("- Date: ").append(ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME)).append('\n');
    Row check = rows.stream().filter(r -> r.benchmark().equals("csrCheck")).findFirst().orElse(null);
    double ceiling = check == null ? Double.NaN : 1 / (1 / rawSign.score() + 1 / check.score());
    s.append("- Load average when this table was written: ").append(String.format(Locale.ROOT, "%.1f",
        java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage()))
        .append(" on ").append(Runtime.getRuntime().availableProcessors()).append(" cores\n");
    s.append("- Threads: ").append(rawSign.threads()).append("; throughput summed over threads. ")
        .append("Ceiling: one raw signature plus one CSR check (parse, AWS-LC verify, name rules), their costs ")
        .append("added, from the same run. Target: signCsrNoStore ≥ ").append(TARGET_PKI_CEILING_RATIO)
        .append("× the ceiling.\n\n");
    s.append("| Benchmark | ops/s | ± error | vs raw PKCS#11 sign | vs ceiling (sign + CSR check) |\n")
        .append("|---|---:|---:|---:|---:|\n");
    for (Row r : rows) {
      boolean issuance = r.benchmark().startsWith("signCsr");
      String raw = !issuance ? "" : String.format(Locale.ROOT, "%.2f×", r.score() / rawSign.score());
      String vsCeiling = "";
      if (issuance && check != null) {
        double x = r.score() / ceiling;
        vsCeiling = String.format(Locale.ROOT, "%.2f×", x);
        if (r.benchmark().equals("signCsrNoStore")) {
          vsCeiling += x >= TARGET_PKI_CEILING_RATIO ? " (target met)" : " (**target missed**)";
        }
      }
      s.append(String.format(Locale.ROOT, "| %s | %,.0f | %,.0f | %s | %s |%n", r.benchmark(), r.score(),
          r.error(), raw, vsCeiling));
    }
    if (check != null) {
      s.append(String.format(Locale.ROOT, "%nCeiling: one signature plus one CSR check = %,.0f ops/s = %.2f× the raw"
          + " signature rate.%n", ceiling, ceiling / rawSign.score()));
    }
    return s.toString();
  }

  /** SSH: Sign (no_store and stored) beside the raw PKCS#11 signature of the same CA key, per CA key type. */
  private static String sshMarkdown(List<Row> rows) {
    StringBuilder s = new StringBuilder("# SSH CA: Sign beside the raw PKCS#11 signature (CA key in SoftHSM2)\n\n");
    s.append("- Date: ").append(ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME)).append('\n');
    s.append("- Threads: ").append(rows.get(0).threads()).append("; throughput summed over threads. ")
        .append("Target: Sign (no_store) ≥ 0.8× the raw signature rate of the same key.\n\n");
    s.append("| CA key | Benchmark | ops/s | ± error | vs raw PKCS#11 sign |\n|---|---|---:|---:|---:|\n");
    for (String type : rows.stream().map(Row::size).distinct().toList()) {
      Row raw = rows.stream().filter(r -> r.size().equals(type) && r.benchmark().equals("rawPkcs11Sign")).findFirst()
          .orElseThrow();
      for (Row r : rows.stream().filter(r -> r.size().equals(type)).toList()) {
        double ratio = r.score() / raw.score();
        String shown = r == raw ? "" : String.format(java.util.Locale.ROOT, "%.2f×%s", ratio,
            !r.benchmark().equals("signNoStore") || ratio >= 0.8 ? "" : " (**target missed**)");
        s.append(String.format(java.util.Locale.ROOT, "| %s | %s | %,.0f | %,.0f | %s |%n", type, r.benchmark(),
            r.score(), r.error(), shown));
      }
    }
    return s.toString();
  }

  /** JWT: SignJwt (one token per call) beside the raw signature of the same key, per key kind. */
  private static String jwtMarkdown(List<Row> rows) {
    StringBuilder s = new StringBuilder("# JWT signing keys: SignJwt beside the raw signature of the same key\n\n");
    s.append("- Date: ").append(ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME)).append('\n');
    s.append("- Threads: ").append(rows.get(0).threads()).append("; throughput summed over threads. Raw: PKCS#11")
        .append(" ECDSA (SoftHSM2) for the HSM key, Bouncy Castle for software keys. Target: signJwt ≥ 0.8× raw.\n\n");
    s.append("| Key | Benchmark | ops/s | ± error | vs raw sign |\n|---|---|---:|---:|---:|\n");
    for (String kind : rows.stream().map(Row::size).distinct().toList()) {
      Row raw = rows.stream().filter(r -> r.size().equals(kind) && r.benchmark().equals("rawSign")).findFirst()
          .orElseThrow();
      for (Row r : rows.stream().filter(r -> r.size().equals(kind)).toList()) {
        double ratio = r.score() / raw.score();
        String shown = r == raw ? "" : String.format(java.util.Locale.ROOT, "%.2f×%s", ratio,
            ratio >= 0.8 ? "" : " (**target missed**)");
        s.append(String.format(java.util.Locale.ROOT, "| %s | %s | %,.0f | %,.0f | %s |%n", kind, r.benchmark(),
            r.score(), r.error(), shown));
      }
    }
    return s.toString();
  }

  private static String markdown(List<Row> rows) {
    if (rows.stream().anyMatch(r -> r.benchmark().equals("signJwt"))) {
      return jwtMarkdown(rows);
    }
    if (rows.stream().anyMatch(r -> r.benchmark().equals("signNoStore"))) {
      return sshMarkdown(rows);
    }
    Row rawSign = rows.stream().filter(r -> r.benchmark().equals("rawPkcs11Sign")).findFirst().orElse(null);
    if (rawSign != null) {
      return pkiMarkdown(rows, rawSign);
    }
    Map<String, Row> byKey = new LinkedHashMap<>();
    for (Row r : rows) {
      byKey.put(r.benchmark() + "/" + r.size(), r);
    }
    StringBuilder s = new StringBuilder("# Transit engine: JMH results\n\n");
    s.append("- Date: ").append(ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME)).append('\n');
    s.append("- JDK: ").append(System.getProperty("java.vm.name")).append(' ')
        .append(System.getProperty("java.runtime.version")).append("; cores available: ")
        .append(Runtime.getRuntime().availableProcessors()).append('\n');
    s.append("- Threads: ").append(rows.isEmpty() ? "?" : rows.get(0).threads())
        .append("; throughput summed over threads. Signing: 64-byte input.\n");
    s.append("- Ratio: engine rate ÷ raw JDK rate at the same size (rewrap: ÷ raw decrypt then encrypt). ")
        .append("Target: engine encrypt ≥ ").append(TARGET_ENCRYPT_RATIO).append("× raw JDK AES-GCM at 1 KiB.\n\n");
    s.append("| Benchmark | Size (B) | ops/s | ± error | MB/s | vs raw JDK | vs raw BC |\n");
    s.append("|---|---:|---:|---:|---:|---:|---:|\n");
    for (Row r : rows) {
      String ratio = "";
      List<String> base = BASELINES.get(r.benchmark());
      if (base != null) {
        double inverse = 0;
        boolean found = true;
        for (String b : base) {
          Row br = byKey.get(b + "/" + r.size());
          if (br == null) {
            found = false;
            break;
          }
          inverse += 1 / br.score();
        }
        if (found) {
          double x = r.score() * inverse;
          ratio = String.format(Locale.ROOT, "%.2f×", x);
          if (r.benchmark().equals("encrypt") && r.size().equals("1024")) {
            ratio += x >= TARGET_ENCRYPT_RATIO ? " (target met)" : " (**target missed**)";
          }
        }
      }
      String bc = "";
      Row bcRow = BC_BASELINES.containsKey(r.benchmark())
          ? byKey.get(BC_BASELINES.get(r.benchmark()) + "/" + r.size()) : null;
      if (bcRow != null) {
        bc = String.format(Locale.ROOT, "%.2f×", r.score() / bcRow.score());
      }
      String mbs = r.size().isEmpty() || !r.unit().equals("ops/s") ? ""
          : String.format(Locale.ROOT, "%,.0f", r.score() * Integer.parseInt(r.size()) / 1e6);
      String error = Double.isNaN(r.error()) ? "—" : String.format(Locale.ROOT, "%,.0f", r.error());
      s.append(String.format(Locale.ROOT, "| %s | %s | %,.0f | %s | %s | %s | %s |%n", r.benchmark(),
          r.size().isEmpty() ? "64" : r.size(), r.score(), error, mbs, ratio, bc));
    }
    return s.toString();
  }
}
