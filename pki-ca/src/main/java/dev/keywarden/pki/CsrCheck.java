package dev.keywarden.pki;

import dev.keywarden.failure.Inputs;
import dev.keywarden.failure.KeywardenException;
import dev.keywarden.names.IpLiterals;
import java.io.IOException;
import java.io.StringReader;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.ASN1String;
import org.bouncycastle.asn1.edec.EdECObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.RSAPublicKey;
import org.bouncycastle.asn1.sec.SECObjectIdentifiers;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.util.io.pem.PemObject;
import org.bouncycastle.util.io.pem.PemReader;

/**
 * Reads and checks a PKCS#10 CSR against a role. Only the CSR's key, subject CN and SANs are used: the subject's
 * other attributes come from the role, and other requested extensions (basicConstraints, key usage, …) are ignored
 * because the CA decides them. SAN types other than DNS, IP and URI are refused.
 */
public final class CsrCheck {
  private static final int MAX_CSR_BYTES = 64 * 1024;
  private static final int MAX_RSA_BITS = 8192;
  private static final Set<String> PEM_TYPES = Set.of("CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST");
  private static final String NOT_A_CSR = "the CSR is not a PKCS#10 certificate request in PEM or DER";

  private CsrCheck() {}

  /** What a CSR holds, read and its signature verified, its names not yet checked against the role. */
  private record Read(SubjectPublicKeyInfo publicKey, RequestedNames names, boolean rsa) {}

  /** Parses, verifies and checks a CSR (PEM or DER) against {@code role}; INVALID_ARGUMENT says what to fix. */
  public static CheckedCsr check(Role role, byte[] csr) {
    // Everything read from the CSR is read in one untrusted-DER step: Bouncy Castle parses fields lazily.
    Read read = UntrustedDer.read(NOT_A_CSR, () -> {
      PKCS10CertificationRequest req = parse(csr);
      boolean rsa = checkKey(role, req.getSubjectPublicKeyInfo()); // first, so an unusable key is named as such
      verifySignature(req);
      return new Read(req.getSubjectPublicKeyInfo(), requestedNames(req), rsa);
    });
    RequestedNames names = NameRules.check(role, read.names());
    if (names.count() == 0) {
      throw KeywardenException.invalid("the CSR names nothing: give a common name or a DNS, IP or URI SAN");
    }
    return new CheckedCsr(read.publicKey(), names, read.rsa());
  }

  /** Parses a PEM ("CERTIFICATE REQUEST") or DER PKCS#10 request. */
  public static PKCS10CertificationRequest parse(byte[] csr) {
    if (csr == null || csr.length == 0) {
      throw KeywardenException.invalid("the CSR is empty");
    }
    if (csr.length > MAX_CSR_BYTES) {
      throw KeywardenException.invalid("the CSR is larger than " + MAX_CSR_BYTES + " bytes");
    }
    return UntrustedDer.read(NOT_A_CSR, () -> {
      byte[] der = csr;
      String text = new String(csr, StandardCharsets.US_ASCII);
      if (text.stripLeading().startsWith("-----BEGIN")) {
        try (PemReader pem = new PemReader(new StringReader(text))) {
          PemObject o = pem.readPemObject();
          if (o == null || !PEM_TYPES.contains(o.getType())) {
            throw KeywardenException.invalid("the PEM block is not a CERTIFICATE REQUEST");
          }
          der = o.getContent();
        }
      }
      UntrustedDer.checkDer(NOT_A_CSR, der);
      return new PKCS10CertificationRequest(der);
    });
  }

  private static void verifySignature(PKCS10CertificationRequest req) {
    if (!SignatureCheck.csrSelfSigned(req)) {
      throw KeywardenException.invalid("the CSR's signature does not verify; sign the CSR with the private key of"
          + " the public key it holds");
    }
  }

  /** Checks the key's algorithm and strength against the role; returns true for RSA. */
  static boolean checkKey(Role role, SubjectPublicKeyInfo spki) {
    AlgorithmIdentifier alg = spki.getAlgorithm();
    ASN1ObjectIdentifier oid = alg.getAlgorithm();
    String r = "role '" + role.name() + "'";
    if (oid.equals(PKCSObjectIdentifiers.rsaEncryption)) {
      requireFamily(role, CsrKeyFamily.RSA, "RSA");
      BigInteger modulus;
      BigInteger exponent;
      try {
        RSAPublicKey k = RSAPublicKey.getInstance(spki.parsePublicKey());
        modulus = k.getModulus();
        exponent = k.getPublicExponent();
      } catch (IOException | RuntimeException e) {
        throw KeywardenException.invalid("the CSR's RSA public key cannot be read");
      }
      int bits = modulus.bitLength();
      if (bits < role.minRsaBits()) {
        throw KeywardenException.invalid("RSA " + bits + "-bit key is too weak for " + r + ": needs at least "
            + role.minRsaBits());
      }
      if (bits > MAX_RSA_BITS) {
        throw KeywardenException.invalid("RSA " + bits + "-bit key is larger than the " + MAX_RSA_BITS
            + " bits this CA accepts");
      }
      if (!exponent.testBit(0) || exponent.compareTo(BigInteger.valueOf(3)) < 0) {
        throw KeywardenException.invalid("the CSR's RSA public exponent is not valid");
      }
      return true;
    }
    if (oid.equals(X9ObjectIdentifiers.id_ecPublicKey)) {
      requireFamily(role, CsrKeyFamily.EC, "EC");
      ASN1Encodable params = alg.getParameters();
      int bits;
      if (SECObjectIdentifiers.secp256r1.equals(params)) {
        bits = 256;
      } else if (SECObjectIdentifiers.secp384r1.equals(params)) {
        bits = 384;
      } else {
        throw KeywardenException.invalid("the CSR's EC key is not on a named curve this CA accepts; use P-256 or"
            + " P-384");
      }
      if (bits < role.minEcBits()) {
        throw KeywardenException.invalid("EC P-" + bits + " key is too weak for " + r + ": needs at least P-"
            + role.minEcBits());
      }
      return false;
    }
    if (oid.equals(EdECObjectIdentifiers.id_Ed25519)) {
      requireFamily(role, CsrKeyFamily.ED25519, "Ed25519");
      return false;
    }
    throw KeywardenException.invalid("the CSR's key algorithm " + oid.getId()
        + " is not accepted; use EC P-256/P-384, Ed25519 or RSA");
  }

  private static void requireFamily(Role role, CsrKeyFamily family, String shown) {
    if (!role.csrKeyTypes().contains(family)) {
      throw KeywardenException.invalid(shown + " keys are not accepted by role '" + role.name()
          + "': csr_key_types is " + role.csrKeyTypes().stream().map(CsrKeyFamily::familyName).toList());
    }
  }

  /** The subject CN and the SANs of the extensionRequest attribute, not yet checked against a role. */
  static RequestedNames requestedNames(PKCS10CertificationRequest req) {
    RDN[] cns = req.getSubject().getRDNs(BCStyle.CN);
    if (cns.length > 1 || (cns.length == 1 && cns[0].isMultiValued())) {
      throw KeywardenException.invalid("the CSR's subject has more than one common name");
    }
    Optional<String> cn = Optional.empty();
    if (cns.length == 1) {
      ASN1Encodable v = cns[0].getFirst().getValue();
      if (!(v instanceof ASN1String s)) {
        throw KeywardenException.invalid("the CSR's common name is not a string");
      }
      cn = Optional.of(s.getString());
    }
    List<String> dns = new ArrayList<>();
    List<InetAddress> ips = new ArrayList<>();
    List<URI> uris = new ArrayList<>();
    Extensions ext;
    try {
      ext = req.getRequestedExtensions();
    } catch (RuntimeException e) {
      throw KeywardenException.invalid("the CSR's extensionRequest attribute cannot be read");
    }
    if (req.getAttributes(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest).length > 1) {
      throw KeywardenException.invalid("the CSR has more than one extensionRequest attribute");
    }
    Extension san = ext == null ? null : ext.getExtension(Extension.subjectAlternativeName);
    if (san != null) {
      GeneralNames names;
      try {
        names = GeneralNames.getInstance(san.getParsedValue());
      } catch (RuntimeException e) {
        throw KeywardenException.invalid("the CSR's subjectAltName extension cannot be read");
      }
      for (GeneralName n : names.getNames()) {
        switch (n.getTagNo()) {
          case GeneralName.dNSName -> dns.add(((ASN1String) n.getName()).getString());
          case GeneralName.iPAddress -> {
            byte[] octets = ASN1OctetString.getInstance(n.getName()).getOctets();
            if (octets.length != 4 && octets.length != 16) {
              throw KeywardenException.invalid("the CSR has an IP SAN of " + octets.length
                  + " octets; an address has 4 or 16");
            }
            ips.add(IpLiterals.of(octets));
          }
          case GeneralName.uniformResourceIdentifier -> {
            String u = ((ASN1String) n.getName()).getString();
            try {
              uris.add(new URI(u));
            } catch (URISyntaxException e) {
              throw KeywardenException.invalid("the CSR's URI SAN '" + Inputs.quoted(u) + "' is not a valid URI");
            }
          }
          default -> throw KeywardenException.invalid("the CSR asks for a " + sanType(n.getTagNo())
              + " SAN; this CA issues only DNS, IP and URI SANs");
        }
      }
    }
    return new RequestedNames(cn, dns, ips, uris);
  }

  private static String sanType(int tag) {
    return switch (tag) {
      case GeneralName.otherName -> "otherName";
      case GeneralName.rfc822Name -> "email (rfc822Name)";
      case GeneralName.x400Address -> "x400Address";
      case GeneralName.directoryName -> "directoryName";
      case GeneralName.ediPartyName -> "ediPartyName";
      default -> "registeredID";
    };
  }
}
