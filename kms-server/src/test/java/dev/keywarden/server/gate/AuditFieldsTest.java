package dev.keywarden.server.gate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import com.google.protobuf.ByteString;
import com.google.protobuf.DynamicMessage;
import dev.keywarden.api.v1.EncryptResponse;
import dev.keywarden.api.v1.EncryptResult;
import dev.keywarden.api.v1.InitializeResponse;
import java.nio.charset.StandardCharsets;
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
}
