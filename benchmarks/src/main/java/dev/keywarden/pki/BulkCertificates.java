package dev.keywarden.pki;

import dev.keywarden.storage.StoredEntry;
import dev.keywarden.storage.StoredJson;
import dev.keywarden.unseal.Core;
import java.math.BigInteger;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * For the growth benchmark: stored certificates and revocations written straight into storage, in the engine's own
 * record format and layout ({@code PkiEngine.StoredCertificate} under {@code pki/certs/SERIAL}, its entry in the
 * expiry index, {@link RevokedCertificate} under {@code pki/revoked/ISSUER/SERIAL} with the record marked revoked, as
 * {@link PkiEngine#revoke} writes them), {@code batch} per transaction. Every record carries the same certificate
 * bytes (one real certificate of the issuer): signing a million certificates is not what is measured here.
 */
public final class BulkCertificates {
  private BulkCertificates() {}

  /** Writes {@code count} certificate records of {@code issuerId}; returns their serials. */
  public static List<String> write(Core core, String issuerId, byte[] der, int count, int batch,
      java.util.function.IntToLongFunction notAfter, SecureRandom random) {
    List<String> serials = new ArrayList<>(count);
    for (int from = 0; from < count; from += batch) {
      List<String> keys = new ArrayList<>();
      List<byte[]> values = new ArrayList<>();
      List<String> index = new ArrayList<>();
      for (int i = from; i < Math.min(count, from + batch); i++) {
        String serial = PkiEngine.serialHex(new BigInteger(158, random).setBit(157));
        long until = notAfter.applyAsLong(i);
        keys.add(PkiEngine.CERTS + serial);
        values.add(StoredJson.write(new PkiEngine.StoredCertificate(serial, issuerId, der, until, 0, 0, null)));
        index.add(PkiEngine.expiryKey(until, issuerId, serial));
        serials.add(serial);
      }
      core.storage().atomically(tx -> {
        for (int i = 0; i < keys.size(); i++) {
          if (!tx.compareAndSet(keys.get(i), 0, values.get(i))) {
            throw new IllegalStateException(keys.get(i) + " exists");
          }
          tx.put(index.get(i), new byte[0]);
        }
        return null;
      });
    }
    return serials;
  }

  /** Revokes the stored certificates {@code serials} (reason keyCompromise) as {@link PkiEngine#revoke} records it. */
  public static void revoke(Core core, List<String> serials, long at, int batch) {
    for (int from = 0; from < serials.size(); from += batch) {
      List<String> part = serials.subList(from, Math.min(serials.size(), from + batch));
      core.storage().atomically(tx -> {
        for (String serial : part) {
          Optional<StoredEntry> e = tx.get(PkiEngine.CERTS + serial);
          PkiEngine.StoredCertificate c = StoredJson.read(e.orElseThrow().value(), PkiEngine.StoredCertificate.class);
          tx.put(PkiEngine.CERTS + serial, StoredJson.write(c.revokedAt(at, 1)));
          tx.put(PkiEngine.REVOKED + c.issuerId() + "/" + serial,
              StoredJson.write(new RevokedCertificate(serial, c.issuerId(), at, 1, c.notAfter())));
        }
        return null;
      });
    }
  }

  /** Forgets the issuer's stored CRL, so the next request builds one (the change feed drops the cached copy). */
  public static void forgetCrl(Core core, String issuerId) {
    core.storage().delete(Crls.CRLS + issuerId);
  }
}
