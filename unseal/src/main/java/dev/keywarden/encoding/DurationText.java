package dev.keywarden.encoding;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.SerializerProvider;
import dev.keywarden.failure.Inputs;
import dev.keywarden.failure.KeywardenException;
import java.io.IOException;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Durations as users type them, Vault style: "24h", "1h30m", "30s", "7d", or a whole number of seconds.
 * Fractions and negative values are refused; a role has no use for them.
 */
public final class DurationText {
  private static final Pattern PART = Pattern.compile("(\\d{1,9})([dhms])");
  private static final Pattern WHOLE = Pattern.compile("(?:\\d{1,9}[dhms])+");

  private DurationText() {}

  /** Parses "24h", "1h30m", "90s", "7d" or "3600"; INVALID_ARGUMENT names the field. */
  public static Duration parse(String field, String text) {
    if (text == null || text.isEmpty()) {
      throw KeywardenException.invalid(field + ": a duration is required, e.g. \"24h\" or \"30s\"");
    }
    if (text.chars().allMatch(c -> c >= '0' && c <= '9') && text.length() <= 12) {
      return Duration.ofSeconds(Long.parseLong(text));
    }
    if (!WHOLE.matcher(text).matches()) {
      throw KeywardenException.invalid(field + ": '" + Inputs.quoted(text)
          + "' is not a duration; use whole units like \"24h\", \"1h30m\", \"30s\", \"7d\" or a number of seconds");
    }
    Duration d = Duration.ZERO;
    Matcher m = PART.matcher(text);
    while (m.find()) {
      long n = Long.parseLong(m.group(1));
      d = d.plus(switch (m.group(2)) {
        case "d" -> Duration.ofDays(n);
        case "h" -> Duration.ofHours(n);
        case "m" -> Duration.ofMinutes(n);
        default -> Duration.ofSeconds(n);
      });
    }
    return d;
  }

  /** The shortest text {@link #parse} reads back as the same duration (seconds precision). */
  public static String format(Duration d) {
    long s = d.getSeconds();
    if (s == 0) {
      return "0s";
    }
    StringBuilder b = new StringBuilder();
    long h = s / 3600;
    long m = (s % 3600) / 60;
    long sec = s % 60;
    if (h > 0) {
      b.append(h).append('h');
    }
    if (m > 0) {
      b.append(m).append('m');
    }
    if (sec > 0) {
      b.append(sec).append('s');
    }
    return b.toString();
  }

  /** Writes a duration as {@link #format} text. */
  public static final class Writer extends JsonSerializer<Duration> {
    @Override
    public void serialize(Duration value, JsonGenerator gen, SerializerProvider serializers) throws IOException {
      gen.writeString(format(value));
    }
  }

  /** Reads a duration from text or a number of seconds. */
  public static final class Reader extends JsonDeserializer<Duration> {
    @Override
    public Duration deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
      String field = p.currentName() == null ? "duration" : p.currentName();
      if (p.currentToken() == JsonToken.VALUE_NUMBER_INT) {
        long s = p.getLongValue();
        if (s < 0) {
          throw KeywardenException.invalid(field + ": a duration may not be negative");
        }
        return Duration.ofSeconds(s);
      }
      if (p.currentToken() == JsonToken.VALUE_STRING) {
        return parse(field, p.getText());
      }
      throw KeywardenException.invalid(field + ": expected a duration like \"24h\" or a number of seconds");
    }
  }
}
