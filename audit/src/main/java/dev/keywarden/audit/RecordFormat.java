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

  // the member names every record writes, escaped once
  private static final byte[] TYPE = JsonBytes.encodedName("type");
  private static final byte[] ID = JsonBytes.encodedName("id");
  private static final byte[] TIME = JsonBytes.encodedName("time");
  private static final byte[] NODE = JsonBytes.encodedName("node");
  private static final byte[] RPC = JsonBytes.encodedName("rpc");
  private static final byte[] RESOURCE = JsonBytes.encodedName("resource");
  private static final byte[] CAPABILITY = JsonBytes.encodedName("capability");
  private static final byte[] CALLER = JsonBytes.encodedName("caller");
  private static final byte[] AUTH_METHOD = JsonBytes.encodedName("auth_method");
  private static final byte[] PRINCIPAL = JsonBytes.encodedName("principal");
  private static final byte[] ACCESSOR = JsonBytes.encodedName("accessor");
  private static final byte[] CERT_SERIAL = JsonBytes.encodedName("cert_serial");
  private static final byte[] JWT_SUBJECT = JsonBytes.encodedName("jwt_subject");
  private static final byte[] POLICIES = JsonBytes.encodedName("policies");
  private static final byte[] REMOTE_ADDRESS = JsonBytes.encodedName("remote_address");
  private static final byte[] DECISION = JsonBytes.encodedName("decision");
  private static final byte[] ALLOWED = JsonBytes.encodedName("allowed");
  private static final byte[] REASON = JsonBytes.encodedName("reason");
  private static final byte[] ENGINE = JsonBytes.encodedName("engine");
  private static final byte[] BATCH = JsonBytes.encodedName("batch");
  private static final byte[] ITEMS = JsonBytes.encodedName("items");
  private static final byte[] STATUSES = JsonBytes.encodedName("statuses");
  private static final byte[] STATUS = JsonBytes.encodedName("status");
  private static final byte[] ERROR = JsonBytes.encodedName("error");
  private static final byte[] DURATION_US = JsonBytes.encodedName("duration_us");
  private static final byte[] SECRETS = JsonBytes.encodedName("secrets");

  /** Something that turns a secret into what is written: the device's HMAC, into {@code out} (32 bytes). */
  interface SecretHasher {
    void hash(byte[] value, byte[] out);
  }

  static String time(Instant t) {
    return DateTimeFormatter.ISO_INSTANT.format(t.truncatedTo(ChronoUnit.MILLIS));
  }

  static JsonBytes request(JsonBytes g, String id, Instant time, String node, AuditRequest r, SecretHasher secrets) {
    g.body().string(TYPE, "request").string(ID, id).time(TIME, time).string(NODE, node)
        .string(RPC, r.rpc()).nonEmpty(RESOURCE, r.resource()).nonEmpty(CAPABILITY, r.capability());
    AuditCaller c = r.caller();
    if (c != AuditCaller.NONE && !c.equals(AuditCaller.NONE)) {
      g.startObject(CALLER).string(AUTH_METHOD, c.authMethod()).string(PRINCIPAL, c.principal())
          .nonEmpty(ACCESSOR, c.accessor()).nonEmpty(CERT_SERIAL, c.certificateSerial())
          .nonEmpty(JWT_SUBJECT, c.jwtSubject()).startArray(POLICIES);
      for (String p : c.policies()) {
        g.element(p);
      }
      g.endArray().endObject();
    }
    g.nonEmpty(REMOTE_ADDRESS, r.remoteAddress());
    g.startObject(DECISION).bool(ALLOWED, r.allowed()).nonEmpty(REASON, r.reason()).endObject();
    strings(g, r.engine());
    if (r.batchItems() > 0) {
      g.startObject(BATCH).number(ITEMS, r.batchItems()).endObject();
    }
    secrets(g, r.secrets(), secrets);
    return g.end();
  }

  static JsonBytes response(JsonBytes g, String id, Instant time, String node, String rpc, long durationMicros,
      AuditResponse r, SecretHasher secrets) {
    g.body().string(TYPE, "response").string(ID, id).time(TIME, time).string(NODE, node)
        .string(RPC, rpc).string(STATUS, r.status()).nonEmpty(ERROR, r.error())
        .number(DURATION_US, durationMicros);
    strings(g, r.engine());
    if (r.batchItems() > 0 || !r.batchStatuses().isEmpty()) {
      g.startObject(BATCH).number(ITEMS, r.batchItems()).startObject(STATUSES);
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

  private static void strings(JsonBytes g, Map<String, String> values) {
    if (!values.isEmpty()) {
      g.startObject(ENGINE);
      for (var e : values.entrySet()) {
        g.string(e.getKey(), e.getValue() == null ? "" : e.getValue());
      }
      g.endObject();
    }
  }

  private static void secrets(JsonBytes g, Map<String, byte[]> values, SecretHasher hasher) {
    if (!values.isEmpty()) {
      g.startObject(SECRETS);
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
