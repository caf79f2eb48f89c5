package dev.keywarden.server.gate;

import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor.JavaType;
import com.google.protobuf.Message;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
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
  private static final Set<String> SECRET = Set.of("plaintext", "ciphertext", "token", "root_token", "jwt", "share",
      "shares", "pin", "hsm_pin", "private_key", "private_key_pem", "context", "input", "value", "new_token",
      "client_token", "unseal_share");
  private static final Set<String> IDS = Set.of("name", "key_name", "role", "serial", "issuer_id", "issuer", "ca",
      "version", "key_version", "accessor", "device", "key_id", "latest_version");
  private static final Set<String> BATCH = Set.of("items", "results");
  private static final int MAX_DEPTH = 3;
  private static final int MAX_ID_CHARS = 128;

  /** What one message gives a record. */
  record Extract(Map<String, String> engine, Map<String, byte[]> secrets, int batchItems,
                 Map<String, Integer> batchStatuses) {
    static final Extract NONE = new Extract(Map.of(), Map.of(), 0, Map.of());

    /** Zeroizes the copies of the secrets (they were copied out of the message to be hashed). */
    void wipe() {
      secrets.values().forEach(b -> java.util.Arrays.fill(b, (byte) 0));
    }
  }

  private enum Role { SECRET, ID, NESTED, BATCH }

  private record Step(FieldDescriptor field, Role role) {}

  private final Map<Descriptor, List<Step>> topPlans = new ConcurrentHashMap<>();
  private final Map<Descriptor, List<Step>> nestedPlans = new ConcurrentHashMap<>();

  /** The record's fields from {@code message}; {@link Extract#NONE} for anything that is not a proto message. */
  Extract of(Object message) {
    if (!(message instanceof Message m)) {
      return Extract.NONE;
    }
    Map<String, String> engine = new TreeMap<>();
    Map<String, byte[]> secrets = new HashMap<>();
    int[] batch = {0};
    Map<String, Integer> statuses = new TreeMap<>();
    walk(m, "", 0, engine, secrets, batch, statuses);
    return new Extract(engine, secrets, batch[0], statuses);
  }

  private void walk(Message m, String prefix, int depth, Map<String, String> engine, Map<String, byte[]> secrets,
      int[] batch, Map<String, Integer> statuses) {
    for (Step s : plan(m.getDescriptorForType(), depth == 0)) {
      FieldDescriptor f = s.field();
      String name = prefix.isEmpty() ? f.getName() : prefix + f.getName();
      switch (s.role()) {
        case SECRET -> {
          if (f.isRepeated()) {
            int n = m.getRepeatedFieldCount(f);
            for (int i = 0; i < n; i++) {
              secret(secrets, name + "[" + i + "]", m.getRepeatedField(f, i));
            }
          } else if (m.hasField(f) || !f.hasPresence()) {
            secret(secrets, name, m.getField(f));
          }
        }
        case ID -> {
          Object v = m.getField(f);
          String text = String.valueOf(v);
          if (!text.isEmpty() && !(v instanceof Number n && n.longValue() == 0)) {
            engine.put(name, text.length() <= MAX_ID_CHARS ? text : text.substring(0, MAX_ID_CHARS));
          }
        }
        case NESTED -> {
          if (m.hasField(f) && depth < MAX_DEPTH) {
            walk((Message) m.getField(f), name + ".", depth + 1, engine, secrets, batch, statuses);
          }
        }
        case BATCH -> {
          int n = m.getRepeatedFieldCount(f);
          batch[0] += n;
          for (int i = 0; i < n; i++) {
            Message item = (Message) m.getRepeatedField(f, i);
            walk(item, name + "[" + i + "].", MAX_DEPTH, Map.of(), secrets, batch, statuses);
            if (f.getName().equals("results")) {
              statuses.merge(status(item), 1, Integer::sum);
            }
          }
        }
        default -> throw new IllegalStateException();
      }
    }
  }

  private static void secret(Map<String, byte[]> secrets, String name, Object v) {
    byte[] bytes = v instanceof ByteString b ? b.toByteArray()
        : v instanceof String s ? s.getBytes(StandardCharsets.UTF_8) : null;
    if (bytes != null && bytes.length > 0) {
      secrets.put(name, bytes);
    }
  }

  private static String status(Message result) {
    FieldDescriptor error = result.getDescriptorForType().findFieldByName("error");
    if (error != null && error.getJavaType() == JavaType.MESSAGE && result.hasField(error)) {
      Message e = (Message) result.getField(error);
      FieldDescriptor code = e.getDescriptorForType().findFieldByName("code");
      String c = code == null ? "" : String.valueOf(e.getField(code));
      return c.isEmpty() ? "ERROR" : c;
    }
    return "OK";
  }

  private List<Step> plan(Descriptor d, boolean top) {
    // batches only at the top; nested messages never as batches (lists of metadata: versions, issuers, devices)
    return (top ? topPlans : nestedPlans).computeIfAbsent(d, x -> build(x, top));
  }

  private static List<Step> build(Descriptor d, boolean top) {
    List<Step> steps = new ArrayList<>();
    for (FieldDescriptor f : d.getFields()) {
      String n = f.getName();
      JavaType t = f.getJavaType();
      if (SECRET.contains(n) && (t == JavaType.STRING || t == JavaType.BYTE_STRING)) {
        steps.add(new Step(f, Role.SECRET));
      } else if (n.equals("key") && t == JavaType.BYTE_STRING) {
        steps.add(new Step(f, Role.SECRET));
      } else if ((IDS.contains(n) || n.equals("key") && t == JavaType.STRING) && !f.isRepeated()
          && (t == JavaType.STRING || t == JavaType.INT || t == JavaType.LONG)) {
        steps.add(new Step(f, Role.ID));
      } else if (t == JavaType.MESSAGE && !f.isMapField()) {
        if (f.isRepeated()) {
          if (top && BATCH.contains(n)) {
            steps.add(new Step(f, Role.BATCH));
          }
        } else if (!f.getMessageType().getFullName().startsWith("google.protobuf.")) {
          steps.add(new Step(f, Role.NESTED));
        }
      }
    }
    return List.copyOf(steps);
  }
}
