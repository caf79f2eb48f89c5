package dev.keywarden.server.grpc;

import com.google.protobuf.ProtocolMessageEnum;
import dev.keywarden.failure.KeywardenException;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * One closed value set of the API: each value of a proto enum (but its {@code _UNSPECIFIED}) is one engine value,
 * whose name is what the CLI and the deprecated string fields use. Built once in {@link ApiEnums}.
 *
 * @param <P> the proto enum
 * @param <E> the engine's type
 */
public final class EnumTable<P extends Enum<P> & ProtocolMessageEnum, E> {
  private final Map<P, E> toEngine;
  private final Map<E, P> toProto = new LinkedHashMap<>();
  private final Function<E, String> name;
  private final Function<String, E> parse;

  private EnumTable(Map<P, E> toEngine, Function<E, String> name, Function<String, E> parse) {
    this.toEngine = toEngine;
    this.name = name;
    this.parse = parse;
    toEngine.forEach((p, e) -> {
      if (toProto.put(e, p) != null) {
        throw new IllegalStateException(e + " has two proto values");
      }
    });
  }

  /** Starts a table for {@code type}; {@code name} and {@code parse} are the engine's (parse: INVALID_ARGUMENT). */
  public static <P extends Enum<P> & ProtocolMessageEnum, E> Builder<P, E> of(Class<P> type, Function<E, String> name,
      Function<String, E> parse) {
    return new Builder<>(type, name, parse);
  }

  /** The engine value of a proto value; INVALID_ARGUMENT naming {@code field} for one this server does not know. */
  public E engine(P value, String field) {
    E e = toEngine.get(value);
    if (e == null) {
      throw KeywardenException.invalidField(field, field + ": " + (value.ordinal() == 0 ? "is unspecified"
          : "is not a value this server knows") + "; set one of " + String.join(", ",
          toEngine.keySet().stream().filter(p -> p.ordinal() != 0).map(Enum::name).toList()));
    }
    return e;
  }

  /** The proto value of an engine value. */
  public P proto(E value) {
    P p = toProto.get(value);
    if (p == null) {
      throw new IllegalStateException("no proto value for " + value);
    }
    return p;
  }

  /** The engine value's name, as the CLI and the string fields have it (e.g. "aes256-gcm96"). */
  public String name(E value) {
    return name.apply(value);
  }

  /** The engine value of a name; INVALID_ARGUMENT listing the known names otherwise. */
  public E parse(String text) {
    return parse.apply(text);
  }

  /** The proto value of a name; INVALID_ARGUMENT listing the known names otherwise. */
  public P protoOf(String text) {
    return proto(parse(text));
  }

  /** The name of a proto value (e.g. "aes256-gcm96" for TRANSIT_KEY_TYPE_AES256_GCM96). */
  public String nameOf(P value, String field) {
    return name(engine(value, field));
  }

  /** The proto values this table maps, in declaration order. */
  public List<P> protoValues() {
    return List.copyOf(toEngine.keySet());
  }

  /** The engine values this table maps. */
  public List<E> engineValues() {
    return List.copyOf(toProto.keySet());
  }

  /**
   * The value a request gives in either its deprecated string field or its enum field: empty when neither is set;
   * INVALID_ARGUMENT naming both fields when both are set and disagree.
   */
  public Optional<E> either(String text, String textField, P value, String valueField) {
    Optional<E> byName = text.isEmpty() ? Optional.empty() : Optional.of(parseField(text, textField));
    // ordinal, not getNumber(): UNRECOGNIZED (a number from a newer client) has no number to ask for.
    Optional<E> byValue = value.ordinal() == 0 ? Optional.empty() : Optional.of(engine(value, valueField));
    if (byName.isPresent() && byValue.isPresent() && !byName.get().equals(byValue.get())) {
      throw KeywardenException.invalidField(valueField, textField + " ('" + name(byName.get()) + "') and "
          + valueField + " (" + value.name() + ") disagree; set only " + valueField + " (" + textField
          + " is deprecated)");
    }
    return byValue.isPresent() ? byValue : byName;
  }

  private E parseField(String text, String field) {
    try {
      return parse(text);
    } catch (KeywardenException e) {
      String m = e.getMessage();
      throw KeywardenException.invalidField(field, m.startsWith(field + ":") ? m : field + ": " + m);
    }
  }

  /** Adds the pairs of a table; every proto value but {@code _UNSPECIFIED} must be given one. */
  public static final class Builder<P extends Enum<P> & ProtocolMessageEnum, E> {
    private final Class<P> type;
    private final Function<E, String> name;
    private final Function<String, E> parse;
    private final Map<P, E> pairs;

    private Builder(Class<P> type, Function<E, String> name, Function<String, E> parse) {
      this.type = type;
      this.name = name;
      this.parse = parse;
      this.pairs = new EnumMap<>(type);
    }

    /** Pairs a proto value with an engine value. */
    public Builder<P, E> pair(P proto, E engine) {
      if (pairs.put(proto, engine) != null) {
        throw new IllegalStateException(proto + " is paired twice");
      }
      return this;
    }

    /** The table; fails when a proto value is left out, so a new enum value cannot go unmapped. */
    public EnumTable<P, E> build() {
      for (P p : type.getEnumConstants()) {
        if (p.ordinal() != 0 && !p.name().equals("UNRECOGNIZED") && !pairs.containsKey(p)) {
          throw new IllegalStateException(p + " has no engine value");
        }
      }
      return new EnumTable<>(Collections.unmodifiableMap(new EnumMap<>(pairs)), name, parse);
    }
  }
}
