package dev.keywarden.audit;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.Map;

/**
 * The JSON of each record type after its chain head ({@code seq}, {@code prev}): the members in a fixed order, empty
 * optional members left out, secrets as {@code hmac-sha256:<hex>}. See the module README for examples.
 */
final class RecordFormat {
  private static final JsonFactory JSON = new JsonFactory();

  private RecordFormat() {}

  /** Something that turns a secret into what is written: the device's HMAC. */
  interface SecretHasher {
    String hash(byte[] value);
  }

  static String time(Instant t) {
    return DateTimeFormatter.ISO_INSTANT.format(t.truncatedTo(ChronoUnit.MILLIS));
  }

  static byte[] request(String id, Instant time, String node, AuditRequest r, SecretHasher secrets) {
    return members(g -> {
      g.writeStringField("type", "request");
      g.writeStringField("id", id);
      g.writeStringField("time", time(time));
      g.writeStringField("node", node);
      g.writeStringField("rpc", r.rpc());
      nonEmpty(g, "resource", r.resource());
      nonEmpty(g, "capability", r.capability());
      AuditCaller c = r.caller();
      if (!c.equals(AuditCaller.NONE)) {
        g.writeObjectFieldStart("caller");
        g.writeStringField("auth_method", c.authMethod());
        g.writeStringField("principal", c.principal());
        nonEmpty(g, "accessor", c.accessor());
        nonEmpty(g, "cert_serial", c.certificateSerial());
        nonEmpty(g, "jwt_subject", c.jwtSubject());
        g.writeArrayFieldStart("policies");
        for (String p : c.policies()) {
          g.writeString(p);
        }
        g.writeEndArray();
        g.writeEndObject();
      }
      nonEmpty(g, "remote_address", r.remoteAddress());
      g.writeObjectFieldStart("decision");
      g.writeBooleanField("allowed", r.allowed());
      nonEmpty(g, "reason", r.reason());
      g.writeEndObject();
      strings(g, "engine", r.engine());
      if (r.batchItems() > 0) {
        g.writeObjectFieldStart("batch");
        g.writeNumberField("items", r.batchItems());
        g.writeEndObject();
      }
      secrets(g, r.secrets(), secrets);
    });
  }

  static byte[] response(String id, Instant time, String node, String rpc, long durationMicros, AuditResponse r,
      SecretHasher secrets) {
    return members(g -> {
      g.writeStringField("type", "response");
      g.writeStringField("id", id);
      g.writeStringField("time", time(time));
      g.writeStringField("node", node);
      g.writeStringField("rpc", rpc);
      g.writeStringField("status", r.status());
      nonEmpty(g, "error", r.error());
      g.writeNumberField("duration_us", durationMicros);
      strings(g, "engine", r.engine());
      if (r.batchItems() > 0 || !r.batchStatuses().isEmpty()) {
        g.writeObjectFieldStart("batch");
        g.writeNumberField("items", r.batchItems());
        g.writeObjectFieldStart("statuses");
        for (var e : r.batchStatuses().entrySet()) {
          g.writeNumberField(e.getKey(), e.getValue());
        }
        g.writeEndObject();
        g.writeEndObject();
      }
      secrets(g, r.secrets(), secrets);
    });
  }

  /**
   * A record about the device itself: "start" (a new chain), "open" (appending to a file that already holds the
   * chain), "continues" (a new file or connection carrying the chain on: its prev is the last line elsewhere),
   * "resumed" (writes work again after failing).
   */
  static byte[] marker(String type, Instant time, String node, String device, String reason) {
    return members(g -> {
      g.writeStringField("type", type);
      g.writeStringField("time", time(time));
      g.writeStringField("node", node);
      g.writeStringField("device", device);
      nonEmpty(g, "reason", reason);
    });
  }

  /** A checkpoint's members before its signature, with a trailing comma left to the caller (no closing brace). */
  static byte[] checkpointMembers(Instant time, String node, String device, long records, boolean last,
      String reason, String keyFingerprint, String algorithm) {
    byte[] closed = members(g -> {
      g.writeStringField("type", "checkpoint");
      g.writeStringField("time", time(time));
      g.writeStringField("node", node);
      g.writeStringField("device", device);
      g.writeNumberField("records", records);
      g.writeBooleanField("final", last);
      g.writeStringField("reason", reason);
      g.writeStringField("key", keyFingerprint);
      g.writeStringField("alg", algorithm);
    });
    return Arrays.copyOf(closed, closed.length - 1);
  }

  private interface Members {
    void write(JsonGenerator g) throws IOException;
  }

  /** The members of one JSON object and its closing brace (the opening brace is the chain head's). */
  private static byte[] members(Members m) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(512);
    try (JsonGenerator g = JSON.createGenerator(out)) {
      g.writeStartObject();
      m.write(g);
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException("writing to memory failed", e);
    }
    byte[] all = out.toByteArray();
    return Arrays.copyOfRange(all, 1, all.length);
  }

  private static void nonEmpty(JsonGenerator g, String field, String value) throws IOException {
    if (!value.isEmpty()) {
      g.writeStringField(field, value);
    }
  }

  private static void strings(JsonGenerator g, String field, Map<String, String> values) throws IOException {
    if (!values.isEmpty()) {
      g.writeObjectFieldStart(field);
      for (var e : values.entrySet()) {
        g.writeStringField(e.getKey(), e.getValue() == null ? "" : e.getValue());
      }
      g.writeEndObject();
    }
  }

  private static void secrets(JsonGenerator g, Map<String, byte[]> values, SecretHasher hasher) throws IOException {
    if (!values.isEmpty()) {
      g.writeObjectFieldStart("secrets");
      for (var e : values.entrySet()) {
        g.writeStringField(e.getKey(), e.getValue() == null ? "" : hasher.hash(e.getValue()));
      }
      g.writeEndObject();
    }
  }
}
