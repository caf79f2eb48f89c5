package dev.keywarden.callerjson;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.keywarden.failure.KeywardenException;
import org.junit.jupiter.api.Test;

/** The limits hold where data binding does not refuse first: a tree of any shape. */
class CallerJsonTest {
  private static final ObjectMapper JSON = CallerJson.mapper();

  private static String refusal(String json) {
    KeywardenException e = assertThrows(KeywardenException.class,
        () -> CallerJson.read(JSON, "the document", json, JsonNode.class));
    assertEquals(KeywardenException.Kind.INVALID_ARGUMENT, e.kind());
    return e.getMessage();
  }

  @Test
  void nestingDeeperThanTheLimitIsRefused() {
    String ok = "[".repeat(CallerJson.MAX_DEPTH) + "]".repeat(CallerJson.MAX_DEPTH);
    CallerJson.read(JSON, "the document", ok, JsonNode.class);
    String deep = "[".repeat(CallerJson.MAX_DEPTH + 1) + "]".repeat(CallerJson.MAX_DEPTH + 1);
    assertTrue(refusal(deep).startsWith("the document nests arrays and objects deeper than 32 levels"), refusal(deep));
  }

  @Test
  void aNumberOf1001DigitsIsRefusedWithoutLocationTrouble() {
    assertEquals("the document has a number longer than 64 characters", refusal("{\"a\":" + "7".repeat(1001) + "}")
        .replaceAll(" \\(line.*", ""));
    assertTrue(refusal("[0." + "1".repeat(1001) + "]").contains("number longer than 64"));
  }

  @Test
  void sizeDuplicatesTrailingTextAndLongNamesAreRefused() {
    assertEquals("the document is 65537 characters; the limit is 65536",
        refusal("\"" + "a".repeat(65535) + "\""));
    assertTrue(refusal("{\"a\":1,\"a\":2}").contains("not valid JSON"));
    assertTrue(refusal("{} []").contains("has more after its JSON value"));
    assertTrue(refusal("{\"" + "n".repeat(300) + "\":1}").contains("field name longer than 256"));
  }

  @Test
  void messagesQuoteAtMost64CharactersOfInput() {
    String m = refusal("{\"a\": tru" + "e".repeat(500) + "}");
    assertTrue(m.length() < 250, m);
  }
}
