package dev.keywarden.server.gate;

import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor.JavaType;
import com.google.protobuf.GeneratedMessageV3;
import com.google.protobuf.Message;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What the audit records take from a request or response message, found by field name so a new RPC is audited
 * without code: secret-bearing fields (plaintexts, ciphertexts, tokens, JWTs, shares, the PIN, private keys, contexts,
 * signing inputs) go to the record only as HMACs; a few identifier fields (key and role names, serials, versions) go
 * in clear; a top-level repeated {@code items} or {@code results} field is a batch (its size, and per-status counts
 * from each result's {@code error.code}). The plan per message type is worked out once and cached.
 */
final class AuditFields {
  // package-private: FormerAuditFields (a test) walks by the same rules
  static final Set<String> SECRET = Set.of("plaintext", "ciphertext", "token", "root_token", "jwt", "share",
      "shares", "pin", "hsm_pin", "private_key", "private_key_pem", "context", "input", "value", "new_token",
      "client_token", "unseal_share");
  static final Set<String> IDS = Set.of("name", "key_name", "role", "serial", "issuer_id", "issuer", "ca",
      "version", "key_version", "accessor", "device", "key_id", "latest_version");
  static final Set<String> BATCH = Set.of("items", "results");
  static final int MAX_DEPTH = 3;
  static final int MAX_ID_CHARS = 128;

  /** What one message gives a record. */
  record Extract(Map<String, String> engine, Map<String, byte[]> secrets, int batchItems,
                 Map<String, Integer> batchStatuses) {
    static final Extract NONE = new Extract(Map.of(), Map.of(), 0, Map.of());

    /** Zeroizes the copies of the secrets (they were copied out of the message to be hashed). */
    void wipe() {
      for (byte[] b : secrets.values()) {
        Arrays.fill(b, (byte) 0);
      }
    }
  }

  private enum Role { SECRET, ID, NESTED, BATCH }

  /** The first items of a batch whose field names are made once, not per call ("items[0].plaintext"). */
  private static final int NAMED_ITEMS = 8;

  /** Marks a field read through its descriptor: no generated getter, or not a generated message. */
  private static final MethodHandle NO_GETTER = MethodHandles.constant(Object.class, null);

  /** One field of a plan, with what reading it needs worked out once. */
  private static final class Step {
    final FieldDescriptor field;
    final Role role;
    final String name;
    final boolean repeated;
    /** A single secret: whether an unset field must be told from one set to its default (not if that is empty). */
    final boolean checkPresence;
    /** A batch's items: their plan; the names of their fields for the first items; the error field of a result. */
    final List<Step> items;
    final String[][] itemNames;
    final FieldDescriptor itemError;
    /** The generated getter of the message class last read ({@link #NO_GETTER} if it has none), for SECRET and ID. */
    private volatile Getter getter;

    Step(FieldDescriptor field, Role role, List<Step> items) {
      this.field = field;
      this.role = role;
      this.name = field.getName();
      this.repeated = field.isRepeated();
      this.checkPresence = field.hasPresence()
          && !(role == Role.SECRET && !repeated && isEmpty(field.getDefaultValue()));
      this.items = items;
      if (items != null) {
        itemNames = new String[NAMED_ITEMS][items.size()];
        for (int i = 0; i < NAMED_ITEMS; i++) {
          for (int j = 0; j < items.size(); j++) {
            itemNames[i][j] = name + "[" + i + "]." + items.get(j).name;
          }
        }
        FieldDescriptor error = name.equals("results") ? field.getMessageType().findFieldByName("error") : null;
        itemError = error != null && error.getJavaType() == JavaType.MESSAGE ? error : null;
      } else {
        itemNames = null;
        itemError = null;
      }
    }

    /**
     * The field's value as {@code getField} gives it (but a string secret's as its UTF-8 bytes, see
     * {@link #lookUp}), through the generated getter: a direct call instead of the descriptor's reflective accessor.
     */
    Object value(Message m) {
      if (m instanceof GeneratedMessageV3) {
        Getter g = getter;
        if (g == null || g.type() != m.getClass()) {
          g = new Getter(m.getClass(), lookUp(m.getClass()));
          getter = g;
        }
        if (g.handle() != NO_GETTER) {
          try {
            return (Object) g.handle().invokeExact(m);
          } catch (Throwable e) {
            return fallback(m);
          }
        }
      }
      return fallback(m);
    }

    private Object fallback(Message m) {
      return m.getField(field);
    }

    /**
     * For a string secret {@code getXxxBytes()}: {@code getField} would turn the field into a String and keep it so,
     * and the answer's serialization would then encode that String again (a 1.4 KB ciphertext encoded twice per
     * Encrypt, on the thread that sends every held answer).
     */
    private MethodHandle lookUp(Class<?> type) {
      JavaType t = field.getJavaType();
      Class<?> returns = role == Role.SECRET ? ByteString.class
          : t == JavaType.STRING ? String.class : t == JavaType.INT ? int.class : t == JavaType.LONG ? long.class
          : null;
      if (repeated || returns == null || (role != Role.SECRET && role != Role.ID)) {
        return NO_GETTER;
      }
      String json = field.getJsonName();
      String method = "get" + Character.toUpperCase(json.charAt(0)) + json.substring(1)
          + (role == Role.SECRET && t == JavaType.STRING ? "Bytes" : "");
      try {
        return MethodHandles.publicLookup().findVirtual(type, method, MethodType.methodType(returns))
            .asType(MethodType.methodType(Object.class, Message.class));
      } catch (ReflectiveOperationException | RuntimeException e) {
        return NO_GETTER;
      }
    }
  }

  private record Getter(Class<?> type, MethodHandle handle) {}

  /**
   * Name–value pairs found one by one: none or one (what most calls have) as {@code Map.of}, which the audit
   * record keeps without copying; a TreeMap from the second on.
   */
  private static final class Entries<V> {
    private String name;
    private V value;
    private TreeMap<String, V> more;

    void put(String n, V v) {
      if (more != null) {
        more.put(n, v);
      } else if (name == null || name.equals(n)) {
        name = n;
        value = v;
      } else {
        more = new TreeMap<>();
        more.put(name, value);
        more.put(n, v);
      }
    }

    V get(String n) {
      return more != null ? more.get(n) : n.equals(name) ? value : null;
    }

    Map<String, V> map() {
      return more != null ? more : name == null ? Map.of() : Map.of(name, value);
    }
  }

  /** What a walk found. */
  private static final class Found {
    final Entries<String> engine = new Entries<>();
    final Entries<byte[]> secrets = new Entries<>();
    final Entries<Integer> statuses = new Entries<>();
    int batchItems;
  }

  private final Map<Descriptor, List<Step>> topPlans = new ConcurrentHashMap<>();
  private final Map<Descriptor, List<Step>> nestedPlans = new ConcurrentHashMap<>();

  /** The record's fields from {@code message}; {@link Extract#NONE} for anything that is not a proto message. */
  Extract of(Object message) {
    if (!(message instanceof Message m)) {
      return Extract.NONE;
    }
    Found found = new Found();
    walk(m, plan(m.getDescriptorForType(), true), "", null, 0, false, found);
    return new Extract(found.engine.map(), found.secrets.map(), found.batchItems, found.statuses.map());
  }

  /**
   * Reads {@code m} by its plan. A field's record name is {@code names[i]} when given (a batch item's), else
   * {@code prefix} and its name, made only when something is recorded under it. A batch item gives no identifiers.
   */
  private void walk(Message m, List<Step> plan, String prefix, String[] names, int depth, boolean item,
      Found found) {
    for (int i = 0; i < plan.size(); i++) {
      Step s = plan.get(i);
      FieldDescriptor f = s.field;
      switch (s.role) {
        case SECRET -> {
          if (s.repeated) {
            int n = m.getRepeatedFieldCount(f);
            for (int k = 0; k < n; k++) {
              byte[] bytes = bytes(m.getRepeatedField(f, k));
              if (bytes != null && bytes.length > 0) {
                found.secrets.put(name(prefix, names, i, s) + "[" + k + "]", bytes);
              }
            }
          } else if (!s.checkPresence || m.hasField(f)) {
            byte[] bytes = bytes(s.value(m));
            if (bytes != null && bytes.length > 0) {
              found.secrets.put(name(prefix, names, i, s), bytes);
            }
          }
        }
        case ID -> {
          Object v = item ? null : s.value(m);
          String text = String.valueOf(v);
          if (!item && !text.isEmpty() && !(v instanceof Number n && n.longValue() == 0)) {
            found.engine.put(name(prefix, names, i, s),
                text.length() <= MAX_ID_CHARS ? text : text.substring(0, MAX_ID_CHARS));
          }
        }
        case NESTED -> {
          if (depth < MAX_DEPTH && m.hasField(f)) {
            Message nested = (Message) m.getField(f);
            walk(nested, plan(nested.getDescriptorForType(), false), name(prefix, names, i, s) + ".", null,
                depth + 1, item, found);
          }
        }
        case BATCH -> {
          int n = m.getRepeatedFieldCount(f);
          found.batchItems += n;
          for (int k = 0; k < n; k++) {
            Message each = (Message) m.getRepeatedField(f, k);
            if (k < NAMED_ITEMS) {
              walk(each, s.items, "", s.itemNames[k], MAX_DEPTH, true, found);
            } else {
              walk(each, s.items, name(prefix, names, i, s) + "[" + k + "].", null, MAX_DEPTH, true, found);
            }
            if (s.name.equals("results")) {
              String status = status(each, s.itemError);
              Integer count = found.statuses.get(status);
              found.statuses.put(status, count == null ? 1 : count + 1);
            }
          }
        }
        default -> throw new IllegalStateException();
      }
    }
  }

  private static String name(String prefix, String[] names, int i, Step s) {
    return names != null ? names[i] : prefix.isEmpty() ? s.name : prefix + s.name;
  }

  private static boolean isEmpty(Object defaultValue) {
    return defaultValue instanceof String s ? s.isEmpty()
        : defaultValue instanceof ByteString b ? b.isEmpty()
        : defaultValue instanceof Number n && n.longValue() == 0;
  }

  private static byte[] bytes(Object v) {
    return v instanceof ByteString b ? b.toByteArray()
        : v instanceof String s ? s.getBytes(StandardCharsets.UTF_8) : null;
  }

  private static String status(Message result, FieldDescriptor error) {
    if (error != null && result.hasField(error)) {
      Message e = (Message) result.getField(error);
      FieldDescriptor code = e.getDescriptorForType().findFieldByName("code");
      String c = code == null ? "" : String.valueOf(e.getField(code));
      return c.isEmpty() ? "ERROR" : c;
    }
    return "OK";
  }

  private List<Step> plan(Descriptor d, boolean top) {
    // batches only at the top; nested messages never as batches (lists of metadata: versions, issuers, devices)
    Map<Descriptor, List<Step>> plans = top ? topPlans : nestedPlans;
    List<Step> plan = plans.get(d);
    return plan != null ? plan : plans.computeIfAbsent(d, x -> build(x, top));
  }

  private List<Step> build(Descriptor d, boolean top) {
    List<Step> steps = new ArrayList<>();
    for (FieldDescriptor f : d.getFields()) {
      String n = f.getName();
      JavaType t = f.getJavaType();
      if (SECRET.contains(n) && (t == JavaType.STRING || t == JavaType.BYTE_STRING)) {
        steps.add(new Step(f, Role.SECRET, null));
      } else if (n.equals("key") && t == JavaType.BYTE_STRING) {
        steps.add(new Step(f, Role.SECRET, null));
      } else if ((IDS.contains(n) || n.equals("key") && t == JavaType.STRING) && !f.isRepeated()
          && (t == JavaType.STRING || t == JavaType.INT || t == JavaType.LONG)) {
        steps.add(new Step(f, Role.ID, null));
      } else if (t == JavaType.MESSAGE && !f.isMapField()) {
        if (f.isRepeated()) {
          if (top && BATCH.contains(n)) {
            // the items' plan is in the other map: no computeIfAbsent within itself
            steps.add(new Step(f, Role.BATCH, plan(f.getMessageType(), false)));
          }
        } else if (!f.getMessageType().getFullName().startsWith("google.protobuf.")) {
          steps.add(new Step(f, Role.NESTED, null));
        }
      }
    }
    return List.copyOf(steps);
  }
}
