package dev.keywarden.server.grpc;

import static org.junit.jupiter.api.Assertions.*;

import com.google.protobuf.ProtocolMessageEnum;
import dev.keywarden.api.v1.KeyPairType;
import dev.keywarden.api.v1.RevocationReason;
import dev.keywarden.api.v1.TransitKeyType;
import dev.keywarden.failure.KeywardenException;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Every closed value set of the API maps each of its values to one engine value and back, by value and by name. */
class ApiEnumsTest {

  static Stream<Arguments> tables() {
    return Stream.of(
        Arguments.of("KeyPairType", ApiEnums.KEY_PAIR_TYPE, KeyPairType.class,
            List.of(dev.keywarden.hsm.KeyType.values())),
        Arguments.of("CsrKeyFamily", ApiEnums.CSR_KEY_FAMILY, dev.keywarden.api.v1.CsrKeyFamily.class,
            List.of(dev.keywarden.pki.CsrKeyFamily.values())),
        Arguments.of("TransitKeyType", ApiEnums.TRANSIT_KEY_TYPE, TransitKeyType.class,
            List.of(dev.keywarden.transit.KeyType.values())),
        Arguments.of("HashAlgorithm", ApiEnums.HASH_ALGORITHM, dev.keywarden.api.v1.HashAlgorithm.class,
            List.of(dev.keywarden.transit.crypto.HashAlgorithm.values())),
        Arguments.of("RsaPadding", ApiEnums.RSA_PADDING, dev.keywarden.api.v1.RsaPadding.class,
            List.of(dev.keywarden.transit.crypto.RsaPadding.values())),
        Arguments.of("SignatureEncoding", ApiEnums.SIGNATURE_ENCODING, dev.keywarden.api.v1.SignatureEncoding.class,
            List.of(dev.keywarden.transit.crypto.SignatureEncoding.values())),
        Arguments.of("RevocationReason", ApiEnums.REVOCATION_REASON, RevocationReason.class,
            IntStream.rangeClosed(0, 10).filter(c -> c != 7).boxed().toList()));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("tables")
  <P extends Enum<P> & ProtocolMessageEnum, E> void everyValueMapsAndRoundTrips(String enumName,
      EnumTable<P, E> table, Class<P> protoType, List<E> engineValues) {
    for (P p : protoType.getEnumConstants()) {
      if (p.name().equals("UNRECOGNIZED") || (p.ordinal() == 0 && !table.protoValues().contains(p))) {
        continue;
      }
      assertTrue(p.name().startsWith(upperSnake(enumName) + "_"), p + ": buf's value prefix");
      E e = table.engine(p, "f");
      assertEquals(p, table.proto(e), p + " round-trips through " + e);
      assertEquals(e, table.parse(table.name(e)), e + " round-trips through its name " + table.name(e));
      assertEquals(p, table.protoOf(table.nameOf(p, "f")), p + " round-trips by name");
    }
    for (E e : engineValues) {
      assertNotNull(table.proto(e), e + " has a proto value");
    }
    assertEquals(engineValues.size(), table.engineValues().size(), "no engine value without a proto value");
    assertEquals(0, protoType.getEnumConstants()[0].getNumber(), "the first value is the zero value");
    assertTrue(protoType.getEnumConstants()[0].name().endsWith("_UNSPECIFIED"));
  }

  @Test
  void revocationReasonsAreNumberedAsTheirRfc5280Codes() {
    for (RevocationReason r : ApiEnums.REVOCATION_REASON.protoValues()) {
      assertEquals(r.getNumber(), ApiEnums.REVOCATION_REASON.engine(r, "crl_reason"), r.name());
    }
    assertEquals("key-compromise", ApiEnums.REVOCATION_REASON.nameOf(RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
        "crl_reason"));
  }

  @Test
  void eitherFieldGivesTheValueAndBothDisagreeingIsInvalidNamingBoth() {
    EnumTable<TransitKeyType, dev.keywarden.transit.KeyType> t = ApiEnums.TRANSIT_KEY_TYPE;
    assertEquals(Optional.empty(), t.either("", "type", TransitKeyType.TRANSIT_KEY_TYPE_UNSPECIFIED, "key_type"));
    assertEquals(Optional.of(dev.keywarden.transit.KeyType.HMAC),
        t.either("hmac", "type", TransitKeyType.TRANSIT_KEY_TYPE_UNSPECIFIED, "key_type"));
    assertEquals(Optional.of(dev.keywarden.transit.KeyType.HMAC),
        t.either("", "type", TransitKeyType.TRANSIT_KEY_TYPE_HMAC, "key_type"));
    assertEquals(Optional.of(dev.keywarden.transit.KeyType.HMAC),
        t.either("hmac", "type", TransitKeyType.TRANSIT_KEY_TYPE_HMAC, "key_type"));

    KeywardenException both = assertThrows(KeywardenException.class,
        () -> t.either("ed25519", "type", TransitKeyType.TRANSIT_KEY_TYPE_HMAC, "key_type"));
    assertEquals(KeywardenException.Kind.INVALID_ARGUMENT, both.kind());
    assertEquals("key_type", both.field());
    assertTrue(both.getMessage().contains("type ('ed25519') and key_type (TRANSIT_KEY_TYPE_HMAC) disagree"),
        both.getMessage());

    KeywardenException unknownName = assertThrows(KeywardenException.class,
        () -> t.either("aes128", "type", TransitKeyType.TRANSIT_KEY_TYPE_UNSPECIFIED, "key_type"));
    assertEquals("type", unknownName.field());
    assertTrue(unknownName.getMessage().contains("aes256-gcm96"), "lists the known names: " + unknownName.getMessage());

    KeywardenException newer = assertThrows(KeywardenException.class,
        () -> t.either("", "type", TransitKeyType.UNRECOGNIZED, "key_type"));
    assertEquals("key_type", newer.field());
    assertTrue(newer.getMessage().contains("TRANSIT_KEY_TYPE_AES256_GCM96"), newer.getMessage());
  }

  private static String upperSnake(String camel) {
    return String.join("_", Arrays.stream(camel.split("(?=[A-Z])")).map(String::toUpperCase).toList());
  }
}
