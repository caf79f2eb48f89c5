package dev.keywarden.server.grpc;

import com.google.protobuf.ListValue;
import com.google.protobuf.NullValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.keywarden.failure.KeywardenException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * JWT claims between {@code google.protobuf.Struct} and the JSON values the JWT engine reads and returns (String, Long,
 * Double, Boolean, List, Map, null). A Struct number is a double: a whole one within ±2^53 becomes a Long, so
 * {@code nbf: 1700000000} and {@code "tier": 3} are written as integers in the token, as a JSON client meant them.
 */
final class JwtClaimsStruct {
  /** Doubles hold every integer up to this exactly. */
  private static final double EXACT = 9_007_199_254_740_992d;

  private JwtClaimsStruct() {}

  /** The claims of a Struct; an unset Struct is no claims. */
  static Map<String, Object> claims(Struct s) {
    Map<String, Object> out = new LinkedHashMap<>();
    s.getFieldsMap().forEach((k, v) -> out.put(k, value(v, k)));
    return out;
  }

  private static Object value(Value v, String claim) {
    return switch (v.getKindCase()) {
      case NULL_VALUE, KIND_NOT_SET -> null;
      case BOOL_VALUE -> v.getBoolValue();
      case STRING_VALUE -> v.getStringValue();
      case NUMBER_VALUE -> number(v.getNumberValue(), claim);
      case LIST_VALUE -> {
        List<Object> l = new ArrayList<>(v.getListValue().getValuesCount());
        v.getListValue().getValuesList().forEach(e -> l.add(value(e, claim)));
        yield l;
      }
      case STRUCT_VALUE -> claims(v.getStructValue());
    };
  }

  private static Object number(double d, String claim) {
    if (!Double.isFinite(d)) {
      throw KeywardenException.invalid("claim '" + claim + "': NaN and infinities are not JSON numbers");
    }
    if (d == Math.rint(d) && Math.abs(d) <= EXACT) {
      return (long) d;
    }
    return d;
  }

  /** A Struct of verified claims (JSON types as Nimbus parses them). */
  static Struct struct(Map<String, Object> claims) {
    Struct.Builder b = Struct.newBuilder();
    claims.forEach((k, v) -> b.putFields(k, toValue(v)));
    return b.build();
  }

  private static Value toValue(Object o) {
    Value.Builder v = Value.newBuilder();
    if (o == null) {
      return v.setNullValue(NullValue.NULL_VALUE).build();
    }
    if (o instanceof Boolean bool) {
      return v.setBoolValue(bool).build();
    }
    if (o instanceof Number n) {
      return v.setNumberValue(n.doubleValue()).build();
    }
    if (o instanceof java.util.Date d) {
      return v.setNumberValue(Math.floorDiv(d.getTime(), 1000)).build();
    }
    if (o instanceof Map<?, ?> m) {
      Struct.Builder s = Struct.newBuilder();
      m.forEach((k, e) -> s.putFields(String.valueOf(k), toValue(e)));
      return v.setStructValue(s).build();
    }
    if (o instanceof List<?> l) {
      ListValue.Builder lb = ListValue.newBuilder();
      l.forEach(e -> lb.addValues(toValue(e)));
      return v.setListValue(lb).build();
    }
    return v.setStringValue(String.valueOf(o)).build();
  }
}
