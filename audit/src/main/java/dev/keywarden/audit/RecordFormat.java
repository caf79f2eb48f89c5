package dev.keywarden.audit;

import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.Map;

/**
 * The JSON of each record type after its chain head ({@code seq}, {@code prev}): the members in a fixed order, empty
 * optional members left out, secrets as {@code hmac-sha256:<hex>}. See the module README for examples. Each is
 * written into a {@link JsonBytes} the caller reuses, which ends holding the members and the closing brace.
 */
final class RecordFormat {
  private RecordFormat() {}

  /** Something that turns a secret into what is written: the device's HMAC, into {@code out} (32 bytes). */
  interface SecretHasher {
    void hash(byte[] value, byte[] out);
  }

  static String time(Instant t) {
    return DateTimeFormatter.ISO_INSTANT.format(t.truncatedTo(ChronoUnit.MILLIS));
  }

  static JsonBytes request(JsonBytes g, String id, Instant time, String node, AuditRequest r, SecretHasher secrets) {
    g.body().string("type", "request").string("id", id).time("time", time).string("node", node)
        .string("rpc", r.rpc()).nonEmpty("resource", r.resource()).nonEmpty("capability", r.capability());
    AuditCaller c = r.caller();
    if (!c.equals(AuditCaller.NONE)) {
      g.startObject("caller").string("auth_method", c.authMethod()).string("principal", c.principal())
          .nonEmpty("accessor", c.accessor()).nonEmpty("cert_serial", c.certificateSerial())
          .nonEmpty("jwt_subject", c.jwtSubject()).startArray("policies");
      for (String p : c.policies()) {
        g.element(p);
      }
      g.endArray().endObject();
    }
    g.nonEmpty("remote_address", r.remoteAddress());
    g.startObject("decision").bool("allowed", r.allowed()).nonEmpty("reason", r.reason()).endObject();
    strings(g, "engine", r.engine());
    if (r.batchItems() > 0) {
      g.startObject("batch").number("items", r.batchItems()).endObject();
    }
    secrets(g, r.secrets(), secrets);
    return g.end();
  }

  static JsonBytes response(JsonBytes g, String id, Instant time, String node, String rpc, long durationMicros,
      AuditResponse r, SecretHasher secrets) {
    g.body().string("type", "response").string("id", id).time("time", time).string("node", node)
        .string("rpc", rpc).string("status", r.status()).nonEmpty("error", r.error())
        .number("duration_us", durationMicros);
    strings(g, "engine", r.engine());
    if (r.batchItems() > 0 || !r.batchStatuses().isEmpty()) {
      g.startObject("batch").number("items", r.batchItems()).startObject("statuses");
      for (var e : r.batchStatuses().entrySet()) {
        g.number(e.getKey(), e.getValue());
      }
      g.endObject().endObject();
    }
    secrets(g, r.secrets(), secrets);
    return g.end();
  }

  /**
   * A record about the device itself: "start" (a new chain), "open" (appending to a file that already holds the
   * chain), "continues" (a new file or connection carrying the chain on: its prev is the last line elsewhere),
   * "resumed" (writes work again after failing).
   */
  static byte[] marker(String type, Instant time, String node, String device, String reason) {
    return new JsonBytes().body().string("type", type).time("time", time).string("node", node)
        .string("device", device).nonEmpty("reason", reason).end().toByteArray();
  }

  /** A checkpoint's members before its signature, with a trailing comma left to the caller (no closing brace). */
  static byte[] checkpointMembers(Instant time, String node, String device, long records, boolean last,
      String reason, String keyFingerprint, String algorithm) {
    return new JsonBytes().body().string("type", "checkpoint").time("time", time).string("node", node)
        .string("device", device).number("records", records).bool("final", last).string("reason", reason)
        .string("key", keyFingerprint).string("alg", algorithm).toByteArray();
  }

  private static void strings(JsonBytes g, String field, Map<String, String> values) {
    if (!values.isEmpty()) {
      g.startObject(field);
      for (var e : values.entrySet()) {
        g.string(e.getKey(), e.getValue() == null ? "" : e.getValue());
      }
      g.endObject();
    }
  }

  private static void secrets(JsonBytes g, Map<String, byte[]> values, SecretHasher hasher) {
    if (!values.isEmpty()) {
      g.startObject("secrets");
      for (var e : values.entrySet()) {
        if (e.getValue() == null) {
          g.string(e.getKey(), "");
        } else {
          hasher.hash(e.getValue(), g.mac);
          g.hmac(e.getKey());
        }
      }
      g.endObject();
    }
  }
}
