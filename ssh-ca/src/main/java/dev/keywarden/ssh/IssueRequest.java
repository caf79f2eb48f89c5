package dev.keywarden.ssh;

import dev.keywarden.hsm.KeyType;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** A request for a new key pair and its certificate; fields as in {@link SignRequest}, the key type the role's if empty. */
public record IssueRequest(Optional<KeyType> keyType, List<String> principals, Optional<Duration> ttl,
    Optional<String> keyId, Map<String, String> extensions, Map<String, String> criticalOptions,
    Optional<String> caName) {
  public IssueRequest {
    keyType = keyType == null ? Optional.empty() : keyType;
    principals = principals == null ? List.of() : principals;
    ttl = ttl == null ? Optional.empty() : ttl;
    keyId = keyId == null ? Optional.empty() : keyId;
    criticalOptions = criticalOptions == null ? Map.of() : criticalOptions;
    caName = caName == null ? Optional.empty() : caName;
  }
}
