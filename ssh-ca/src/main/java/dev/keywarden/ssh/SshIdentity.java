package dev.keywarden.ssh;

import java.util.Map;

/**
 * Who asks for a certificate, as the gate authenticated them: {@code {{identity}}} in a role's templates is
 * {@code name}, {@code {{meta.KEY}}} is {@code metadata.get(KEY)}.
 */
public record SshIdentity(String name, Map<String, String> metadata) {
  public SshIdentity {
    name = name == null ? "" : name;
    metadata = metadata == null ? Map.of() : Map.copyOf(metadata);
  }
}
