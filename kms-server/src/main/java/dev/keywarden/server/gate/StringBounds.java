package dev.keywarden.server.gate;

import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
import dev.keywarden.failure.KeywardenException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A bound on every string field of every request, so no field is unbounded just because nobody thought to check it
 * (a 1 MiB base URL, a 1 MiB common name). Names, ids, URLs and the like: {@link #DEFAULT_MAX} characters; documents,
 * and PEM: {@link #DOCUMENT_MAX}; a JWT or an OpenSSH public key: {@link #JWT_MAX}. Ciphertext and signature texts are left to the engine's
 * own limits (transit checks them per item). The plan for each message type is worked out once; a message type
 * without bounded strings (EncryptItem: bytes only) costs nothing per request.
 */
final class StringBounds {
  static final int DEFAULT_MAX = 1024;
  static final int DOCUMENT_MAX = 256 << 10;
  static final int JWT_MAX = 16 << 10;
  /** Fields whose limit is the engine's: they may be longer than any bound here and are checked there. */
  private static final List<String> ENGINE_CHECKED = List.of("ciphertext", "signature");

  private record Plan(List<FieldDescriptor> strings, List<Integer> limits, List<FieldDescriptor> messages) {
    boolean empty() {
      return strings.isEmpty() && messages.isEmpty();
    }
  }

  private final Map<Descriptor, Plan> plans = new ConcurrentHashMap<>();

  /** INVALID_ARGUMENT naming the field when a string in {@code request} is over its bound. */
  void check(Object request) {
    if (request instanceof Message m) {
      check(m, "");
    }
  }

  private void check(Message m, String path) {
    Plan plan = plan(m.getDescriptorForType());
    if (plan.empty()) {
      return;
    }
    for (int i = 0; i < plan.strings().size(); i++) {
      FieldDescriptor f = plan.strings().get(i);
      int max = plan.limits().get(i);
      if (f.isRepeated()) {
        int n = m.getRepeatedFieldCount(f);
        for (int j = 0; j < n; j++) {
          bound(path, f, j, (String) m.getRepeatedField(f, j), max);
        }
      } else if (m.hasField(f) || !f.hasPresence()) {
        bound(path, f, -1, (String) m.getField(f), max);
      }
    }
    for (FieldDescriptor f : plan.messages()) {
      if (f.isRepeated()) {
        int n = m.getRepeatedFieldCount(f);
        for (int j = 0; j < n; j++) {
          check((Message) m.getRepeatedField(f, j), path + f.getName() + "[" + j + "].");
        }
      } else if (m.hasField(f)) {
        check((Message) m.getField(f), path + f.getName() + ".");
      }
    }
  }

  /** The field's path ({@code index} -1 when it is not repeated) is only built for the error: most calls pass. */
  private static void bound(String path, FieldDescriptor f, int index, String value, int max) {
    if (value.length() > max) {
      String field = path + f.getName() + (index < 0 ? "" : "[" + index + "]");
      throw KeywardenException.invalidField(field, field + " is " + value.length() + " characters; the limit is "
          + max);
    }
  }

  private Plan plan(Descriptor d) {
    Plan known = plans.get(d);
    if (known != null) {
      return known;
    }
    Plan made = build(d, new ArrayList<>());
    plans.put(d, made);
    return made;
  }

  private Plan build(Descriptor d, List<Descriptor> visiting) {
    List<FieldDescriptor> strings = new ArrayList<>();
    List<Integer> limits = new ArrayList<>();
    List<FieldDescriptor> messages = new ArrayList<>();
    visiting.add(d);
    for (FieldDescriptor f : d.getFields()) {
      if (f.getJavaType() == FieldDescriptor.JavaType.STRING && !ENGINE_CHECKED.contains(f.getName())) {
        strings.add(f);
        limits.add(limit(f.getName()));
      } else if (f.getJavaType() == FieldDescriptor.JavaType.MESSAGE && !f.isMapField()
          && !f.getMessageType().getFullName().startsWith("google.protobuf.")
          && (visiting.contains(f.getMessageType()) || !build(f.getMessageType(), visiting).empty())) {
        messages.add(f);
      }
    }
    visiting.remove(d);
    return new Plan(List.copyOf(strings), List.copyOf(limits), List.copyOf(messages));
  }

  private static int limit(String field) {
    if (field.endsWith("_pem") || field.endsWith("_pems") || field.endsWith("_json") || field.equals("document")
        || field.equals("jwks")) {
      return DOCUMENT_MAX;
    }
    if (field.equals("jwt") || field.equals("public_key")) {
      return JWT_MAX; // an OpenSSH public key line: RSA-16384 is about 2.8 KiB
    }
    return DEFAULT_MAX;
  }
}
