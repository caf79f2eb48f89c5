package dev.keywarden.callerjson;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.core.exc.StreamReadException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.keywarden.failure.Inputs;
import dev.keywarden.failure.KeywardenException;
import java.util.stream.Collectors;

/**
 * The one way JSON documents that callers send (policies, PKI roles) are read: bounded in size, nesting and number
 * length by Jackson's {@link StreamReadConstraints}, strict (unknown or duplicate fields and trailing text refused),
 * and every failure, whatever Jackson throws, turned into INVALID_ARGUMENT with the field or line and column when
 * Jackson knows them. Jackson's own messages quote the input and name its classes and limits,
 * so only its bare reason, quoted through {@link Inputs#quoted}, reaches the caller.
 *
 * <p>It lives in unseal, the module under every engine, so each engine's roles and kms-server's policies read caller
 * JSON the same way. Stored records are not read here: they are ours and may grow ({@code storage.StoredJson}).
 */
public final class CallerJson {
  /** The largest document, in characters. */
  public static final int MAX_DOCUMENT_CHARS = 64 * 1024;
  /** The deepest nesting of arrays and objects. */
  public static final int MAX_DEPTH = 32;
  /** The longest number, in characters; no field a caller sets needs more. */
  public static final int MAX_NUMBER_CHARS = 64;
  /** The longest field name, in characters. */
  public static final int MAX_NAME_CHARS = 256;

  private CallerJson() {}

  /**
   * Reads a caller document this service stored earlier (a role, a policy) with {@code read}, which applies the caller
   * rules. A stored document that breaks them — a field this server does not know, written by a newer server during a
   * rolling upgrade — is FAILED_PRECONDITION, not the caller's INVALID_ARGUMENT: an older server refuses to use it
   * rather than drop a constraint it does not understand.
   */
  public static <T> T readStored(String what, java.util.function.Supplier<T> read) {
    try {
      return read.get();
    } catch (KeywardenException e) {
      if (e.kind() != KeywardenException.Kind.INVALID_ARGUMENT) {
        throw e;
      }
      throw new KeywardenException(KeywardenException.Kind.FAILED_PRECONDITION, what + " in storage cannot be used by "
          + "this server (" + e.getMessage() + "): a newer Keywarden wrote it; upgrade this server", e);
    }
  }

  /** A new mapper for caller documents with the bounds and strictness above; callers may configure it further. */
  public static ObjectMapper mapper() {
    StreamReadConstraints limits = StreamReadConstraints.builder()
        .maxDocumentLength(MAX_DOCUMENT_CHARS)
        .maxNestingDepth(MAX_DEPTH)
        .maxNumberLength(MAX_NUMBER_CHARS)
        .maxStringLength(MAX_DOCUMENT_CHARS)
        .maxNameLength(MAX_NAME_CHARS)
        .build();
    JsonFactory factory = JsonFactory.builder()
        .streamReadConstraints(limits)
        .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
        .build();
    return JsonMapper.builder(factory)
        .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
        .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
        .build();
  }

  /**
   * Reads {@code json} as {@code type} with a mapper from {@link #mapper()}; {@code what} names the document in
   * messages ("policy document", "the role"). A KeywardenException thrown while building the value passes through.
   */
  public static <T> T read(ObjectMapper mapper, String what, String json, Class<T> type) {
    if (json == null || json.isBlank()) {
      throw KeywardenException.invalid(what + " is empty");
    }
    Inputs.maxChars(what, json, MAX_DOCUMENT_CHARS);
    try {
      T value = mapper.readValue(json, type);
      if (value == null) {
        throw KeywardenException.invalid(what + " is null; expected a JSON object");
      }
      return value;
    } catch (JsonProcessingException e) {
      throw invalid(what, e);
    }
  }

  /** INVALID_ARGUMENT for any Jackson failure reading a caller document, or the KeywardenException inside it. */
  public static KeywardenException invalid(String what, JsonProcessingException e) {
    // Data binding wraps what the parser threw (with the field it was reading), so look down the causes first.
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof KeywardenException k) {
        return k;
      }
      if (t instanceof StreamConstraintsException c) {
        return KeywardenException.invalid(what + " " + limit(c.getOriginalMessage()) + at(c.getLocation()));
      }
      if (t instanceof StreamReadException r) {
        return KeywardenException.invalid(what + " is not valid JSON" + at(r.getLocation()) + ": "
            + Inputs.quoted(String.valueOf(r.getOriginalMessage())));
      }
    }
    if (e instanceof UnrecognizedPropertyException u) {
      return KeywardenException.invalid(what + ": unknown field '" + Inputs.quoted(u.getPropertyName()) + "'"
          + (path(u, 1).isEmpty() ? "" : " in " + path(u, 1)) + "; known: "
          + u.getKnownPropertyIds().stream().map(String::valueOf).sorted().collect(Collectors.joining(", ")));
    }
    if (String.valueOf(e.getOriginalMessage()).startsWith("Trailing token")) {
      return KeywardenException.invalid(what + " has more after its JSON value" + at(e.getLocation()));
    }
    if (e instanceof JsonMappingException m) {
      // Jackson's own text here names Java types; the field and position are what the caller can act on.
      String field = path(m, 0);
      // (A record's creator properties carry no path: then the position has to do.)
      return KeywardenException.invalid(what + (field.isEmpty() ? " has a value of the wrong type or form"
          : ": " + field + " has the wrong type or value") + at(e.getLocation()));
    }
    return KeywardenException.invalid(what + " is not valid JSON" + at(e.getLocation()) + ": "
        + Inputs.quoted(String.valueOf(e.getOriginalMessage())));
  }

  /** Jackson's constraint messages name its own classes and settings; say the limit in the caller's terms. */
  private static String limit(String message) {
    String m = String.valueOf(message);
    if (m.startsWith("Number value length")) {
      return "has a number longer than " + MAX_NUMBER_CHARS + " characters";
    }
    if (m.startsWith("Document nesting depth")) {
      return "nests arrays and objects deeper than " + MAX_DEPTH + " levels";
    }
    if (m.startsWith("Document length")) {
      return "is longer than " + MAX_DOCUMENT_CHARS + " characters";
    }
    if (m.startsWith("Name length")) {
      return "has a field name longer than " + MAX_NAME_CHARS + " characters";
    }
    if (m.startsWith("String value length")) {
      return "has a string longer than " + MAX_DOCUMENT_CHARS + " characters";
    }
    return "is over a size limit";
  }

  /**
   * "rules[0].capabilities", from the field names and indexes Jackson kept less the last {@code leaveOut}; empty when
   * none are left.
   */
  private static String path(JsonMappingException e, int leaveOut) {
    StringBuilder b = new StringBuilder();
    for (JsonMappingException.Reference r : e.getPath().subList(0, Math.max(0, e.getPath().size() - leaveOut))) {
      if (r.getFieldName() != null) {
        b.append(b.length() == 0 ? "" : ".").append(Inputs.quoted(r.getFieldName()));
      } else if (r.getIndex() >= 0) {
        b.append('[').append(r.getIndex()).append(']');
      }
    }
    return b.toString();
  }

  /** " (line L, column C)", or nothing: Jackson has no location for some failures (e.g. a constraint on a number). */
  private static String at(JsonLocation location) {
    if (location == null || location.getLineNr() < 1) {
      return "";
    }
    return " (line " + location.getLineNr() + ", column " + location.getColumnNr() + ")";
  }
}
