package dev.keywarden.server.gate;

import static org.junit.jupiter.api.Assertions.*;

import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors;
import com.google.protobuf.DynamicMessage;
import io.grpc.Status;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A bad-input probe over every RPC in the protos, as root (so requests reach the handlers): requests whose fields hold
 * odd values — empty, huge, negative, non-ASCII, control characters, garbage in JSON and PEM fields — and raw bytes
 * that are not a message at all. Whatever the input, the answer is a status a caller can act on: never INTERNAL or
 * UNKNOWN. Seeded, so a failure names the request that caused it.
 */
class BadInputWalkTest {
  private static final Set<Status.Code> NEVER = Set.of(Status.Code.INTERNAL, Status.Code.UNKNOWN);
  private static final List<String> ODD_STRINGS = List.of("", " ", ".", "..", "a/../b", "-", "*", "%00", "\u0000",
      "\u00e9t\u00e9", "\ud83d\udd11", "kw:v1:", "kw:v0:AAAA", "kw:v99999999999:AAAA", "kw:v1:!!!!", "{", "{}",
      "{\"rules\":[]}", "{\"rules\":[{\"resource\":\"a\",\"capabilities\":[\"read\"]}],\"x\":1e99999}", "[]", "null",
      "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
      "-----BEGIN CERTIFICATE REQUEST-----\nMII=\n-----END CERTIFICATE REQUEST-----\n", "aes256-gcm96",
      "ecdsa-p256", "hmac", "sha2-256", "nope", "0", "ff", "00:11", "https://", "http://x", "ftp://x", "1.2.3.4",
      "::1", "999.1.1.1", "kwt_", "x".repeat(1025), "y".repeat(70_000));
  private static final int EXAMPLES = 12;

  @TempDir
  Path dir;
  LocalKeywarden kw;

  @BeforeEach
  void start() throws Exception {
    kw = new LocalKeywarden(dir, 1L << 30);
  }

  @AfterEach
  void stop() throws Exception {
    kw.close();
  }

  @Test
  void oddValuesInEveryFieldOfEveryRpcNeverGetInternalOrUnknown() {
    Random random = new Random(20261130);
    TreeMap<String, String> bad = new TreeMap<>();
    int calls = 0;
    for (Descriptors.ServiceDescriptor s : GateTest.protoServices()) {
      for (Descriptors.MethodDescriptor m : s.getMethods()) {
        if (m.getName().equals("Seal") || m.getName().startsWith("StartRekey") || m.getName().equals("Initialize")) {
          continue; // they change the server's state for every later call; the walk in GateTest covers their gate
        }
        for (int i = 0; i < EXAMPLES; i++) {
          DynamicMessage request = odd(m.getInputType(), random, 0);
          Status st = WalkCalls.call(kw.channel, m, request, LocalKeywarden.bearer(kw.rootToken));
          calls++;
          if (NEVER.contains(st.getCode())) {
            bad.put(m.getFullName() + " #" + i, st + " for " + shortText(request));
          }
          assertNoStackTrace(st);
        }
      }
    }
    assertEquals(new TreeMap<>(), bad, "requests that got INTERNAL or UNKNOWN");
    assertTrue(calls > 500, calls + " calls");
  }

  private static void assertNoStackTrace(Status st) {
    String d = st.getDescription() == null ? "" : st.getDescription();
    assertFalse(d.contains("\tat ") || d.contains("Exception"), d);
    assertTrue(d.length() < 2000, d.length() + " characters");
  }

  private static String shortText(DynamicMessage m) {
    String t = m.toString();
    return t.length() > 300 ? t.substring(0, 300) + "…" : t;
  }

  private static DynamicMessage odd(Descriptors.Descriptor type, Random random, int depth) {
    DynamicMessage.Builder b = DynamicMessage.newBuilder(type);
    for (Descriptors.FieldDescriptor f : type.getFields()) {
      if (random.nextInt(4) == 0) {
        continue;
      }
      int count = f.isRepeated() ? random.nextInt(4) : 1;
      for (int i = 0; i < count; i++) {
        Object v = value(f, random, depth);
        if (v == null) {
          continue;
        }
        if (f.isRepeated()) {
          b.addRepeatedField(f, v);
        } else {
          b.setField(f, v);
        }
      }
    }
    return b.build();
  }

  private static Object value(Descriptors.FieldDescriptor f, Random random, int depth) {
    switch (f.getJavaType()) {
      case STRING:
        return random.nextInt(5) == 0 ? randomText(random) : ODD_STRINGS.get(random.nextInt(ODD_STRINGS.size()));
      case BYTE_STRING:
        byte[] bytes = new byte[List.of(0, 1, 16, 1000, 70_000).get(random.nextInt(5))];
        random.nextBytes(bytes);
        return ByteString.copyFrom(bytes);
      case INT:
        return List.of(0, -1, 1, 128, 256, 512, 4096, Integer.MAX_VALUE, Integer.MIN_VALUE).get(random.nextInt(9));
      case LONG:
        return List.of(0L, -1L, 1L, Long.MAX_VALUE, Long.MIN_VALUE).get(random.nextInt(5));
      case BOOLEAN:
        return random.nextBoolean();
      case ENUM:
        List<Descriptors.EnumValueDescriptor> values = f.getEnumType().getValues();
        return values.get(random.nextInt(values.size()));
      case MESSAGE:
        if (f.isMapField() || depth > 3) {
          return null;
        }
        if (f.getMessageType().getFullName().equals("google.protobuf.Duration")) {
          return DynamicMessage.newBuilder(f.getMessageType())
              .setField(f.getMessageType().findFieldByName("seconds"),
                  List.of(0L, -5L, 1L, 59L, 3600L, 315_360_000_000L, Long.MAX_VALUE).get(random.nextInt(7)))
              .setField(f.getMessageType().findFieldByName("nanos"), List.of(0, 1, -1, 999_999_999).get(random.nextInt(4)))
              .build();
        }
        return odd(f.getMessageType(), random, depth + 1);
      default:
        return null;
    }
  }

  private static String randomText(Random random) {
    int n = random.nextInt(40);
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < n; i++) {
      b.appendCodePoint(random.nextInt(3) == 0 ? 0x20 + random.nextInt(0x5f) : 1 + random.nextInt(0x2FF));
    }
    return new String(b.toString().getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8);
  }
}
