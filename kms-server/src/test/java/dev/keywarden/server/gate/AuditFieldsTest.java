package dev.keywarden.server.gate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.EnumDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.FileDescriptor;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.Message;
import dev.keywarden.api.v1.AuditProto;
import dev.keywarden.api.v1.AuthCertProto;
import dev.keywarden.api.v1.AuthJwtProto;
import dev.keywarden.api.v1.EncryptItem;
import dev.keywarden.api.v1.EncryptRequest;
import dev.keywarden.api.v1.EncryptResponse;
import dev.keywarden.api.v1.EncryptResult;
import dev.keywarden.api.v1.InitializeResponse;
import dev.keywarden.api.v1.ItemError;
import dev.keywarden.api.v1.JwtProto;
import dev.keywarden.api.v1.KeyTypesProto;
import dev.keywarden.api.v1.PkiProto;
import dev.keywarden.api.v1.PolicyProto;
import dev.keywarden.api.v1.SshProto;
import dev.keywarden.api.v1.SystemProto;
import dev.keywarden.api.v1.TokenProto;
import dev.keywarden.api.v1.TransitProto;
import dev.keywarden.audit.AuditRequest;
import dev.keywarden.audit.AuditResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class AuditFieldsTest {
  private final AuditFields fields = new AuditFields();

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void aStringSecretIsReadAsBytesAndTheMessageKeepsItsBytesForSerialization() {
    ByteString ciphertext = ByteString.copyFromUtf8("kw:v1:" + "A".repeat(1400));
    EncryptResult result = EncryptResult.newBuilder().setCiphertextBytes(ciphertext).build();
    EncryptResponse response = EncryptResponse.newBuilder().addResults(result).build();
    AuditFields.Extract x = fields.of(response);
    assertArrayEquals(ciphertext.toByteArray(), x.secrets().get("results[0].ciphertext"));
    // getField would have turned the field into a String, which serialization then encodes to UTF-8 again
    assertSame(ciphertext, response.getResults(0).getCiphertextBytes());
    assertEquals(1, x.batchItems());
  }

  @Test
  void snakeCaseAndRepeatedStringSecretsAndNonAsciiText() {
    InitializeResponse init = InitializeResponse.newBuilder().setRootToken("kwt_root").addShares("kw1-1-é")
        .addShares("kw1-2-b").setThreshold(2).build();
    AuditFields.Extract x = fields.of(init);
    assertArrayEquals(utf8("kwt_root"), x.secrets().get("root_token"));
    assertArrayEquals(utf8("kw1-1-é"), x.secrets().get("shares[0]"));
    assertArrayEquals(utf8("kw1-2-b"), x.secrets().get("shares[1]"));
  }

  @Test
  void aMessageWithoutGeneratedGettersIsReadThroughItsDescriptor() throws Exception {
    InitializeResponse init = InitializeResponse.newBuilder().setRootToken("kwt_dyn").build();
    DynamicMessage dynamic = DynamicMessage.parseFrom(InitializeResponse.getDescriptor(), init.toByteString());
    assertArrayEquals(utf8("kwt_dyn"), fields.of(dynamic).secrets().get("root_token"));
  }

  @Test
  void anEncryptGivesMapsOfOneEntryThatTheRecordKeepsSorted() {
    EncryptRequest request = EncryptRequest.newBuilder().setName("app")
        .addItems(EncryptItem.newBuilder().setPlaintext(ByteString.copyFromUtf8("secret"))).build();
    AuditFields.Extract x = fields.of(request);
    assertEquals(Map.of("name", "app"), x.engine());
    assertEquals(List.of("items[0].plaintext"), List.copyOf(x.secrets().keySet()));
    assertEquals(Map.of(), x.batchStatuses());
    AuditRequest r = new AuditRequest("rpc", "", "", null, "", true, "", x.engine(), x.secrets(), x.batchItems());
    assertSame(x.engine(), r.engine()); // immutable and sorted already: not copied again
    assertSame(x.secrets(), r.secrets());
    assertEquals(1, r.batchItems());
  }

  @Test
  void twoOrMoreEntriesAreSortedAndItemsPastTheFirstEightAreNamedAlike() {
    EncryptRequest.Builder request = EncryptRequest.newBuilder().setName("app");
    EncryptResponse.Builder response = EncryptResponse.newBuilder();
    for (int i = 0; i < 11; i++) {
      request.addItems(EncryptItem.newBuilder().setPlaintext(ByteString.copyFromUtf8("p" + i))
          .setContext(ByteString.copyFromUtf8(i % 2 == 0 ? "" : "c" + i)));
      response.addResults(i % 3 == 0
          ? EncryptResult.newBuilder().setError(ItemError.newBuilder().setCode("INVALID_ARGUMENT"))
          : i == 10 ? EncryptResult.newBuilder().setError(ItemError.newBuilder())
          : EncryptResult.newBuilder().setCiphertext("kw:v1:" + i));
    }
    AuditFields.Extract q = fields.of(request.build());
    List<String> names = new ArrayList<>();
    for (int i = 0; i < 11; i++) {
      names.add("items[" + i + "].plaintext");
      if (i % 2 == 1) {
        names.add("items[" + i + "].context");
      }
    }
    assertEquals(names.stream().sorted().toList(), List.copyOf(q.secrets().keySet()));
    assertArrayEquals(utf8("c9"), q.secrets().get("items[9].context"));
    assertEquals(11, q.batchItems());
    AuditFields.Extract a = fields.of(response.build());
    assertEquals(List.of("ERROR", "INVALID_ARGUMENT", "OK"), List.copyOf(a.batchStatuses().keySet()));
    assertEquals(Map.of("OK", 6, "INVALID_ARGUMENT", 4, "ERROR", 1), a.batchStatuses());
    assertEquals(List.of("results[1].ciphertext", "results[2].ciphertext", "results[4].ciphertext",
        "results[5].ciphertext", "results[7].ciphertext", "results[8].ciphertext"), List.copyOf(a.secrets().keySet()));
  }

  @Test
  void everyMessageGivesWhatTheFormerWalkGave() throws Exception {
    FormerAuditFields former = new FormerAuditFields();
    Random random = new Random(20261202);
    int compared = 0;
    for (FileDescriptor file : List.of(AuditProto.getDescriptor(), AuthCertProto.getDescriptor(),
        AuthJwtProto.getDescriptor(), JwtProto.getDescriptor(), KeyTypesProto.getDescriptor(),
        PkiProto.getDescriptor(), PolicyProto.getDescriptor(), SshProto.getDescriptor(),
        SystemProto.getDescriptor(), TokenProto.getDescriptor(), TransitProto.getDescriptor())) {
      for (Descriptor type : file.getMessageTypes()) {
        Message prototype = generated(type);
        for (int round = 0; round < 40; round++) {
          DynamicMessage dynamic = filled(type, random, 0, round == 0);
          Message message = prototype.getParserForType().parseFrom(dynamic.toByteString());
          for (Message m : List.of(message, dynamic, prototype.getParserForType().parseFrom(dynamic.toByteString()))) {
            assertSameExtract(former.of(m), fields.of(m), type.getFullName());
          }
          compared++;
        }
      }
    }
    assertEquals(true, compared > 1000, "messages compared: " + compared);
  }

  private static void assertSameExtract(FormerAuditFields.Extract was, AuditFields.Extract is, String type) {
    AuditRequest before = new AuditRequest("rpc", "", "", null, "", true, "", was.engine(), was.secrets(),
        was.batchItems());
    AuditRequest now = new AuditRequest("rpc", "", "", null, "", true, "", is.engine(), is.secrets(),
        is.batchItems());
    assertEquals(before, now, type);
    assertEquals(List.copyOf(before.engine().keySet()), List.copyOf(now.engine().keySet()), type);
    assertEquals(List.copyOf(before.secrets().keySet()), List.copyOf(now.secrets().keySet()), type);
    assertEquals(new ArrayList<>(new TreeMap<>(is.engine()).keySet()), new ArrayList<>(is.engine().keySet()), type);
    assertEquals(new ArrayList<>(new TreeMap<>(is.secrets()).keySet()), new ArrayList<>(is.secrets().keySet()),
        type);
    AuditResponse b = new AuditResponse("OK", "", was.engine(), was.secrets(), was.batchItems(),
        was.batchStatuses());
    AuditResponse n = new AuditResponse("OK", "", is.engine(), is.secrets(), is.batchItems(), is.batchStatuses());
    assertEquals(b, n, type);
    assertEquals(List.copyOf(b.batchStatuses().keySet()), List.copyOf(n.batchStatuses().keySet()), type);
    for (var e : was.secrets().entrySet()) {
      assertArrayEquals(e.getValue(), is.secrets().get(e.getKey()), type + " " + e.getKey());
    }
  }

  private static Message generated(Descriptor type) throws ReflectiveOperationException {
    String name = type.getName();
    for (Descriptor outer = type.getContainingType(); outer != null; outer = outer.getContainingType()) {
      name = outer.getName() + "$" + name;
    }
    return (Message) Class.forName("dev.keywarden.api.v1." + name).getMethod("getDefaultInstance").invoke(null);
  }

  private static final String[] TEXTS = {"", "a", "app", "é€😀", "x".repeat(200), "0"};

  /** A message with random fields set (of each oneof, the last one set), Keywarden's own messages nested. */
  private static DynamicMessage filled(Descriptor type, Random random, int depth, boolean all) {
    DynamicMessage.Builder b = DynamicMessage.newBuilder(type);
    for (FieldDescriptor f : type.getFields()) {
      if (f.isMapField() || !all && random.nextInt(3) == 0) {
        continue;
      }
      if (f.isRepeated()) {
        int n = random.nextInt(4) == 0 ? 9 + random.nextInt(3) : random.nextInt(3);
        for (int i = 0; i < n; i++) {
          Object v = value(f, random, depth);
          if (v != null) {
            b.addRepeatedField(f, v);
          }
        }
      } else {
        Object v = value(f, random, depth);
        if (v != null) {
          b.setField(f, v);
        }
      }
    }
    return b.build();
  }

  private static Object value(FieldDescriptor f, Random random, int depth) {
    return switch (f.getJavaType()) {
      case STRING -> TEXTS[random.nextInt(TEXTS.length)];
      case BYTE_STRING -> {
        byte[] b = new byte[random.nextInt(3) == 0 ? 0 : random.nextInt(40)];
        random.nextBytes(b);
        yield ByteString.copyFrom(b);
      }
      case INT -> random.nextBoolean() ? 0 : random.nextInt();
      case LONG -> random.nextBoolean() ? 0L : random.nextLong();
      case BOOLEAN -> random.nextBoolean();
      case FLOAT -> random.nextFloat();
      case DOUBLE -> random.nextDouble();
      case ENUM -> {
        EnumDescriptor e = f.getEnumType();
        yield e.getValues().get(random.nextInt(e.getValues().size()));
      }
      case MESSAGE -> depth < 4 && !f.getMessageType().getFullName().startsWith("google.protobuf.")
          ? filled(f.getMessageType(), random, depth + 1, false) : null;
    };
  }
}
