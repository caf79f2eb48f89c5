package dev.keywarden.audit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.lists;
import static org.quicktheories.generators.SourceDSL.longs;
import static org.quicktheories.generators.SourceDSL.strings;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.keywarden.testing.Generators;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.crypto.Mac;
import org.junit.jupiter.api.Test;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.Generate;

/**
 * Records are the same bytes Jackson's generator wrote before the format was written by hand: any string (control
 * characters, non-ASCII, lone and paired surrogates), any time, any secret. So old and new lines look alike and a
 * reader of either sees the same JSON. The reference below is the former formatter, kept as it was.
 */
class RecordFormatTest {
  private static final byte[] KEY = HexFormat.of().parseHex(
      "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");

  /** Any UTF-16 string, unpaired surrogates included. */
  private static Gen<String> anyChars(int maxLength) {
    Gen<String> units = lists().of(integers().between(0, 0xFFFF)).ofSizeBetween(0, maxLength).map(l -> {
      StringBuilder s = new StringBuilder();
      l.forEach(c -> s.append((char) (int) c));
      return s.toString();
    });
    return units.mix(strings().allPossible().ofLengthBetween(0, maxLength))
        .mix(Generators.stringsOver("ab\"\\/\u0000\u001f\u007f\b\t\n\f\r é€😀", 0, maxLength));
  }

  @Test
  void stringsAreEscapedAsJacksonDid() {
    qt().withExamples(3000).forAll(anyChars(24), anyChars(24)).checkAssert((name, value) ->
        assertArrayEquals(jackson(g -> g.writeStringField(name, value)),
            new JsonBytes().body().string(name, value).end().toByteArray(), () -> name + " = " + value));
  }

  @Test
  void timesAreWrittenAsIsoInstantDid() {
    long lo = Instant.parse("0000-01-01T00:00:00Z").toEpochMilli();
    long hi = Instant.parse("9999-12-31T23:59:59.999Z").toEpochMilli();
    qt().withExamples(5000).forAll(longs().between(lo - 86_400_000L * 800, hi + 86_400_000L * 800)
        .mix(longs().between(-10_000, 10_000)).mix(longs().between(1_700_000_000_000L, 1_900_000_000_000L)))
        .checkAssert(ms -> {
          Instant t = Instant.ofEpochMilli(ms);
          assertArrayEquals(jackson(g -> g.writeStringField("time", RecordFormat.time(t))),
              new JsonBytes().body().time("time", t).end().toByteArray(), t::toString);
        });
    Instant withNanos = Instant.parse("2025-01-01T00:00:00.123456789Z");
    assertArrayEquals(jackson(g -> g.writeStringField("time", RecordFormat.time(withNanos))),
        new JsonBytes().body().time("time", withNanos).end().toByteArray());
  }

  @Test
  void requestsAndResponsesAreTheBytesJacksonWrote() throws Exception {
    Mac mac = AuditHmac.keyed(KEY);
    RecordFormat.SecretHasher hasher = (v, out) -> {
      try {
        mac.update(v);
        mac.doFinal(out, 0);
      } catch (javax.crypto.ShortBufferException e) {
        throw new IllegalStateException(e);
      }
    };
    JsonBytes reused = new JsonBytes();
    qt().withExamples(500).forAll(anyChars(12), anyChars(12), Generators.bytes(0, 2048),
        longs().between(0, 4_000_000_000_000L)).checkAssert((text, other, secret, ms) -> {
          int batch = (int) (ms % 4);
          Instant t = Instant.ofEpochMilli(ms);
          AuditCaller caller = batch == 1 ? AuditCaller.NONE
              : new AuditCaller("token", text, other, batch == 2 ? text : "", other, List.of(text, "p", other));
          Map<String, byte[]> secrets = new LinkedHashMap<>();
          secrets.put("plaintext", secret);
          secrets.put(other, secret.length == 0 ? null : Arrays.copyOf(secret, 7));
          Map<String, String> ids = new LinkedHashMap<>();
          ids.put("key", text);
          ids.put(other, other);
          AuditRequest r = new AuditRequest("keywarden.v1.TransitService/Encrypt", text, other, caller, other,
              batch % 2 == 0, text, ids, secrets, batch);
          assertArrayEquals(Reference.request("id-" + text, t, "kw-1", r, v -> AuditHmac.of(KEY, v)),
              RecordFormat.request(reused, "id-" + text, t, "kw-1", r, hasher).toByteArray());
          AuditResponse s = new AuditResponse(batch == 0 ? "OK" : other, text, Map.of("key_version", other),
              secrets, batch, batch == 3 ? statuses(other) : Map.of());
          assertArrayEquals(Reference.response("id-" + text, t, "kw-1", "rpc/" + other, ms % 100_000, s,
                  v -> AuditHmac.of(KEY, v)),
              RecordFormat.response(reused, "id-" + text, t, "kw-1", "rpc/" + other, ms % 100_000, s, hasher)
                  .toByteArray());
          assertArrayEquals(Reference.marker("continues", t, "kw-1", other, text),
              RecordFormat.marker("continues", t, "kw-1", other, text));
          assertArrayEquals(Reference.checkpointMembers(t, "kw-1", other, ms, batch == 0, text, "ab12", "Ed25519"),
              RecordFormat.checkpointMembers(t, "kw-1", other, ms, batch == 0, text, "ab12", "Ed25519"));
        });
  }

  @Test
  void aLineAppendedInPlaceIsTheLineMadeAlone() {
    MessageDigest sha = Lines.sha256();
    JsonBytes out = new JsonBytes();
    qt().withExamples(300).forAll(longs().between(0, Long.MAX_VALUE - 1), Generators.bytes(32),
        Generators.bytes(0, 600)).checkAssert((seq, hash, body) -> {
          Lines.Line alone = Lines.next(new ChainState(seq, hash), body);
          out.clear();
          out.raw((byte) 'x');
          byte[] running = hash.clone();
          Lines.append(out, seq, running, body, sha);
          byte[] expected = new byte[alone.bytes().length + 2];
          expected[0] = 'x';
          System.arraycopy(alone.bytes(), 0, expected, 1, alone.bytes().length);
          expected[expected.length - 1] = '\n';
          assertArrayEquals(expected, Arrays.copyOf(out.array(), out.length()));
          assertEquals(alone.next(), new ChainState(seq + 1, running));
        });
  }

  private static Map<String, Integer> statuses(String other) {
    Map<String, Integer> m = new LinkedHashMap<>();
    m.put("OK", 2);
    m.put(other, 1);
    return m;
  }

  private interface Members {
    void write(JsonGenerator g) throws IOException;
  }

  private static final JsonFactory JSON = new JsonFactory();

  /** What the former formatter made of {@code m}: the members and closing brace, without the opening one. */
  private static byte[] jackson(Members m) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(512);
    try (JsonGenerator g = JSON.createGenerator(out)) {
      g.writeStartObject();
      m.write(g);
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    byte[] all = out.toByteArray();
    return Arrays.copyOfRange(all, 1, all.length);
  }

  /** The former RecordFormat, on Jackson's generator. */
  private static final class Reference {
    interface Hasher {
      String hash(byte[] value);
    }

    static byte[] request(String id, Instant time, String node, AuditRequest r, Hasher secrets) {
      return jackson(g -> {
        g.writeStringField("type", "request");
        g.writeStringField("id", id);
        g.writeStringField("time", RecordFormat.time(time));
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
        Hasher secrets) {
      return jackson(g -> {
        g.writeStringField("type", "response");
        g.writeStringField("id", id);
        g.writeStringField("time", RecordFormat.time(time));
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

    static byte[] marker(String type, Instant time, String node, String device, String reason) {
      return jackson(g -> {
        g.writeStringField("type", type);
        g.writeStringField("time", RecordFormat.time(time));
        g.writeStringField("node", node);
        g.writeStringField("device", device);
        nonEmpty(g, "reason", reason);
      });
    }

    static byte[] checkpointMembers(Instant time, String node, String device, long records, boolean last,
        String reason, String keyFingerprint, String algorithm) {
      byte[] closed = jackson(g -> {
        g.writeStringField("type", "checkpoint");
        g.writeStringField("time", RecordFormat.time(time));
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

    private static void secrets(JsonGenerator g, Map<String, byte[]> values, Hasher hasher) throws IOException {
      if (!values.isEmpty()) {
        g.writeObjectFieldStart("secrets");
        for (var e : values.entrySet()) {
          g.writeStringField(e.getKey(), e.getValue() == null ? "" : hasher.hash(e.getValue()));
        }
        g.writeEndObject();
      }
    }
  }
}
