package dev.keywarden.server.auth.jwt;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.keywarden.failure.Inputs;
import dev.keywarden.failure.KeywardenException;
import dev.keywarden.storage.Storage;
import java.io.IOException;
import java.util.List;
import java.util.Optional;

/**
 * The jwt auth engine's storage: roles under {@code auth/jwt/roles/NAME} as {@link JwtRole} JSON. Reading ignores
 * unknown fields (a newer node may have written them during a rolling upgrade).
 */
public final class JwtRoleRecords {
  static final String ROLES = "auth/jwt/roles/";
  private static final ObjectMapper JSON = new ObjectMapper()
      .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

  private final Storage storage;

  public JwtRoleRecords(Storage storage) {
    this.storage = storage;
  }

  /** Checks a role name; INVALID_ARGUMENT says what is allowed. */
  public static String checkName(String name) {
    return Inputs.name("a jwt role name", name);
  }

  Optional<JwtRole> find(String name) {
    return storage.get(ROLES + checkName(name)).map(e -> decode(name, e.value()));
  }

  boolean exists(String name) {
    return storage.get(ROLES + checkName(name)).isPresent();
  }

  void put(String name, JwtRole role) {
    try {
      storage.put(ROLES + checkName(name), JSON.writeValueAsBytes(role));
    } catch (IOException e) {
      throw new IllegalStateException("cannot encode a jwt role", e);
    }
  }

  boolean delete(String name) {
    return storage.delete(ROLES + checkName(name));
  }

  /** Role names, sorted. */
  List<String> names() {
    return storage.list(ROLES).stream().map(k -> k.substring(ROLES.length())).toList();
  }

  /** One page of {@link #names}: one range read. */
  List<String> names(String after, int limit) {
    return storage.list(ROLES, after.isEmpty() ? "" : ROLES + after, limit).stream()
        .map(k -> k.substring(ROLES.length())).toList();
  }

  private static JwtRole decode(String name, byte[] stored) {
    try {
      return JSON.readValue(stored, JwtRole.class);
    } catch (IOException e) {
      throw KeywardenException.precondition("the stored jwt role '" + name + "' is damaged; write it again");
    }
  }
}
