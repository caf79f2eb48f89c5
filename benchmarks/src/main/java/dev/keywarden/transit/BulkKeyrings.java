package dev.keywarden.transit;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.keywarden.transit.crypto.KeyGeneration;
import dev.keywarden.unseal.Core;
import dev.keywarden.unseal.Unsealed;
import java.io.IOException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * For the growth benchmark: makes many transit keyrings at once, each as {@link TransitEngine#createKey} stores it
 * (its own random AES-256-GCM key, wrapped by the KEK in the HSM; the same {@link Keyring} JSON under
 * {@code transit/keys/NAME}), written {@code batch} to a storage transaction instead of one call and one commit each.
 * No nonces are reserved at creation (the engine that creates a key credits those to itself): the first encryption
 * reserves, as after a restart.
 */
public final class BulkKeyrings {
  private static final ObjectMapper JSON = new ObjectMapper();

  private BulkKeyrings() {}

  /** Writes keyrings {@code name(0)} … {@code name(count - 1)}, {@code batch} per transaction. */
  public static void write(Core core, SecureRandom random, int count, int batch,
      java.util.function.IntFunction<String> name) throws IOException {
    Unsealed u = core.unsealed();
    KeyringConfig config = new KeyringConfig(false, false, false, 0, 1, 1);
    long now = System.currentTimeMillis();
    for (int from = 0; from < count; from += batch) {
      List<String> keys = new ArrayList<>();
      List<byte[]> values = new ArrayList<>();
      for (int i = from; i < Math.min(count, from + batch); i++) {
        byte[] material = KeyGeneration.generate(KeyType.AES256_GCM96, random);
        try {
          KeyVersion v = new KeyVersion(1, now, u.kek().wrap(material), null, null, null, 0);
          keys.add(TransitEngine.PREFIX + name.apply(i));
          values.add(JSON.writeValueAsBytes(new Keyring(name.apply(i), KeyType.AES256_GCM96.typeName(), now, config,
              List.of(v))));
        } finally {
          Arrays.fill(material, (byte) 0);
        }
      }
      core.storage().atomically(tx -> {
        for (int i = 0; i < keys.size(); i++) {
          if (!tx.compareAndSet(keys.get(i), 0, values.get(i))) {
            throw new IllegalStateException(keys.get(i) + " exists");
          }
        }
        return null;
      });
    }
  }
}
