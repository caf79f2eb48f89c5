package dev.keywarden.audit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * A record's maps are sorted by name and no longer the caller's, whatever their size: none or one entry is kept
 * without a TreeMap, two or more are a sorted copy.
 */
class AuditRecordMapsTest {
  private static Map<String, String> inOrder(String... namesAndValues) {
    Map<String, String> m = new LinkedHashMap<>();
    for (int i = 0; i < namesAndValues.length; i += 2) {
      m.put(namesAndValues[i], namesAndValues[i + 1]);
    }
    return m;
  }

  private static AuditResponse response(Map<String, String> engine) {
    return new AuditResponse("OK", "", engine, Map.of(), 0, Map.of());
  }

  @Test
  void mapsOfAnySizeAreSortedByNameAndEqualToATreeMapCopy() {
    for (Map<String, String> given : List.of(inOrder(), inOrder("b", "2"), inOrder("b", "2", "a", "1"),
        inOrder("c", "3", "a", "1", "b", "2"))) {
      Map<String, String> engine = response(given).engine();
      assertEquals(new ArrayList<>(new TreeMap<>(given).keySet()), new ArrayList<>(engine.keySet()));
      assertEquals(new TreeMap<>(given), engine);
      assertEquals(engine, new AuditRequest("rpc", "", "", null, "", true, "", given, null, 0).engine());
    }
  }

  @Test
  void aRecordDoesNotSeeItsCallersMapChangeAfterwards() {
    for (int size = 0; size <= 3; size++) {
      Map<String, String> given = new HashMap<>();
      for (int i = 0; i < size; i++) {
        given.put("k" + i, "v" + i);
      }
      AuditResponse r = response(given);
      Map<String, String> before = new TreeMap<>(given);
      given.put("k0", "changed");
      given.put("late", "x");
      assertEquals(before, r.engine());
    }
  }

  @Test
  void anImmutableMapOfOneEntryIsKeptAsItIs() {
    Map<String, String> one = Map.of("name", "app");
    assertSame(one, response(one).engine());
    Map<String, byte[]> secret = Map.of("plaintext", new byte[] {1, 2});
    assertSame(secret, new AuditRequest("rpc", "", "", null, "", true, "", null, secret, 0).secrets());
  }

  @Test
  void oneEntryWithoutAValueIsKeptAndANullNameRefusedAsBefore() {
    Map<String, byte[]> noValue = new HashMap<>();
    noValue.put("ciphertext", null);
    AuditResponse r = new AuditResponse("OK", "", null, noValue, 0, null);
    assertEquals(List.of("ciphertext"), new ArrayList<>(r.secrets().keySet()));
    assertNull(r.secrets().get("ciphertext"));
    Map<String, String> nullName = new HashMap<>();
    nullName.put(null, "x");
    assertThrows(NullPointerException.class, () -> response(nullName));
  }

  @Test
  void equalRecordsStayEqualWhicheverMapTheyWereMadeFrom() {
    byte[] secret = {1, 2, 3};
    Map<String, byte[]> hash = new HashMap<>(Map.of("plaintext", secret));
    AuditRequest a = new AuditRequest("rpc", "r", "c", null, "", true, "", Map.of("name", "k"), hash, 1);
    AuditRequest b = new AuditRequest("rpc", "r", "c", null, "", true, "", new TreeMap<>(Map.of("name", "k")),
        Map.of("plaintext", secret.clone()), 1);
    assertEquals(a, b);
    assertEquals(a.hashCode(), b.hashCode());
    assertArrayEquals(secret, a.secrets().get("plaintext"));
    Map<String, Integer> statuses = new HashMap<>(Map.of("OK", 2, "INVALID_ARGUMENT", 1));
    assertEquals(List.of("INVALID_ARGUMENT", "OK"),
        new ArrayList<>(new AuditResponse("OK", "", null, null, 3, statuses).batchStatuses().keySet()));
  }
}
