package dev.keywarden.hsm.pkcs11;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKA_ALWAYS_SENSITIVE;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKA_ENCRYPT;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKA_EXTRACTABLE;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKA_NEVER_EXTRACTABLE;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKA_SENSITIVE;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKA_TOKEN;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKA_VALUE;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKA_WRAP;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKO_SECRET_KEY;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKR_ATTRIBUTE_SENSITIVE;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.failure.KeywardenException.Kind;
import dev.keywarden.hsm.Hsm;
import dev.keywarden.hsm.KekIdentity;
import dev.keywarden.hsm.testing.SoftHsmToken;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.xipki.pkcs11.wrapper.AttributeVector;
import org.xipki.pkcs11.wrapper.PKCS11Exception;
import org.xipki.pkcs11.wrapper.Session;

class Pkcs11HsmProviderTest {

  @Test
  void generatedKekIsSensitiveNeverExtractableAndOnlyWraps() throws Exception {
    SoftHsmToken softHsm = SoftHsmToken.create();
    try (Pkcs11Hsm hsm = (Pkcs11Hsm) softHsm.provider(2).open(softHsm.pin())) {
      KekIdentity identity = hsm.generateKek("attributes");
      assertEquals(32, identity.idHex().length(), "16-byte CKA_ID");
      // A session of our own, outside the provider's pool.
      Session session = hsm.token().getToken().openSession(false);
      try {
        session.findObjectsInit(new AttributeVector().class_(CKO_SECRET_KEY).label(identity.label())
            .id(HexFormat.of().parseHex(identity.idHex())));
        long[] found = session.findObjects(2);
        session.findObjectsFinal();
        assertEquals(1, found.length);
        AttributeVector attrs = session.getAttrValues(found[0], CKA_TOKEN, CKA_SENSITIVE, CKA_EXTRACTABLE,
            CKA_NEVER_EXTRACTABLE, CKA_ALWAYS_SENSITIVE, CKA_ENCRYPT, CKA_WRAP);
        assertEquals(Boolean.TRUE, attrs.getBooleanAttrValue(CKA_TOKEN));
        assertEquals(Boolean.TRUE, attrs.getBooleanAttrValue(CKA_SENSITIVE));
        assertEquals(Boolean.FALSE, attrs.getBooleanAttrValue(CKA_EXTRACTABLE));
        assertEquals(Boolean.TRUE, attrs.getBooleanAttrValue(CKA_NEVER_EXTRACTABLE));
        assertEquals(Boolean.TRUE, attrs.getBooleanAttrValue(CKA_ALWAYS_SENSITIVE));
        assertEquals(Boolean.FALSE, attrs.getBooleanAttrValue(CKA_ENCRYPT));
        assertEquals(Boolean.TRUE, attrs.getBooleanAttrValue(CKA_WRAP));
        try {
          assertNull(session.getAttrValues(found[0], CKA_VALUE).value(), "CKA_VALUE must not be readable");
        } catch (PKCS11Exception e) {
          assertEquals(CKR_ATTRIBUTE_SENSITIVE, e.getErrorCode());
        }
      } finally {
        session.closeSession();
      }
    }
  }

  @Test
  void pkcs11ToolSeesTheKekAsSensitiveAndNeverExtractable() {
    SoftHsmToken softHsm = SoftHsmToken.create();
    try (Hsm hsm = softHsm.provider(2).open(softHsm.pin())) {
      hsm.generateKek("seen-by-pkcs11-tool");
    }
    String output = softHsm.run(List.of("pkcs11-tool", "--module", softHsm.library().toString(),
        "--token-label", softHsm.label(), "--login", "--pin", new String(softHsm.pin()), "--list-objects"));
    int at = output.indexOf("seen-by-pkcs11-tool");
    assertTrue(at >= 0, output);
    int next = output.indexOf("Object;", at);
    String kekPart = output.substring(at, next < 0 ? output.length() : next);
    assertTrue(kekPart.contains("sensitive"), output);
    assertTrue(kekPart.contains("never extractable"), output);
  }

  @Test
  void wrongPinIsUnauthenticatedAndTheMessageHoldsNoPin() {
    SoftHsmToken softHsm = SoftHsmToken.create();
    char[] wrong = "wrong-pin-4711".toCharArray();
    KeywardenException e = assertThrows(KeywardenException.class, () -> softHsm.provider(2).open(wrong));
    assertEquals(Kind.UNAUTHENTICATED, e.kind());
    assertTrue(e.getMessage().contains("the HSM refused the PIN for token '" + softHsm.label() + "'"), e.getMessage());
    assertNoSecret(e, "wrong-pin-4711");
    assertNoSecret(e, new String(softHsm.pin()));
    // The right PIN still works afterwards.
    softHsm.provider(2).open(softHsm.pin()).close();
  }

  @Test
  void unknownTokenLabelIsFailedPreconditionListingTheLabelsPresent() {
    SoftHsmToken softHsm = SoftHsmToken.create();
    Pkcs11HsmProvider provider = new Pkcs11HsmProvider(softHsm.library(), "no-such-token", 2);
    KeywardenException e = assertThrows(KeywardenException.class, () -> provider.open(softHsm.pin()));
    assertEquals(Kind.FAILED_PRECONDITION, e.kind());
    assertTrue(e.getMessage().contains("'no-such-token'"), e.getMessage());
    assertTrue(e.getMessage().contains("tokens present: 'kw-test-"), e.getMessage());
    assertNoSecret(e, new String(softHsm.pin()));
  }

  @Test
  void missingLibraryIsFailedPreconditionNamingThePath() {
    Path missing = Path.of("/nonexistent/libpkcs11-missing.so");
    KeywardenException e = assertThrows(KeywardenException.class,
        () -> new Pkcs11HsmProvider(missing, "any", 2).open("1234".toCharArray()));
    assertEquals(Kind.FAILED_PRECONDITION, e.kind());
    assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
  }

  @Test
  void kekTheTokenNoLongerHoldsIsFailedPrecondition() {
    SoftHsmToken softHsm = SoftHsmToken.create();
    try (Hsm hsm = softHsm.provider(2).open(softHsm.pin())) {
      KekIdentity ghost = new KekIdentity("ghost", "00112233445566778899aabbccddeeff");
      KeywardenException e = assertThrows(KeywardenException.class, () -> hsm.kek(ghost));
      assertEquals(Kind.FAILED_PRECONDITION, e.kind());
      assertTrue(e.getMessage().contains("no longer holds KEK 'ghost' (id 00112233445566778899aabbccddeeff)"),
          e.getMessage());
    }
  }

  @Test
  void openingATokenTwiceInOneProcessIsRefusedUntilTheFirstCloses() {
    SoftHsmToken softHsm = SoftHsmToken.create();
    Hsm first = softHsm.provider(2).open(softHsm.pin());
    try {
      KeywardenException e = assertThrows(KeywardenException.class,
          () -> softHsm.provider(2).open(softHsm.pin()));
      assertEquals(Kind.FAILED_PRECONDITION, e.kind());
    } finally {
      first.close();
    }
    softHsm.provider(2).open(softHsm.pin()).close();
  }

  @Test
  void tokenCreatedWhileTheLibraryIsInitializedIsFoundOnceEveryHsmHasClosed() {
    // SoftHSM2 2.6.1 scans its token directory only in C_Initialize: while `first` keeps the library initialized,
    // `second` is invisible. Closing the last Hsm finalizes the library, so the next open sees it.
    SoftHsmToken first = SoftHsmToken.create();
    SoftHsmToken second;
    try (Hsm open = first.provider(2).open(first.pin())) {
      second = SoftHsmToken.create();
    }
    try (Hsm opened = second.provider(2).open(second.pin())) {
      assertEquals(second.label(), opened.info().tokenLabel());
    }
  }

  @Test
  void descriptionsAndToStringsHoldNoPin() {
    SoftHsmToken softHsm = SoftHsmToken.create();
    Pkcs11HsmProvider provider = softHsm.provider(2);
    String pin = new String(softHsm.pin());
    try (Hsm hsm = provider.open(softHsm.pin())) {
      for (Object o : List.of(provider, provider.describe(), hsm, hsm.info(), hsm.kek(hsm.generateKek("k")))) {
        assertFalse(o.toString().contains(pin), o.getClass().getSimpleName());
      }
    }
  }

  private static void assertNoSecret(Throwable e, String secret) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      assertFalse(String.valueOf(t.getMessage()).contains(secret), "message leaks the PIN: " + t);
      assertFalse(t.toString().contains(secret), "toString leaks the PIN: " + t);
    }
  }
}
