package dev.keywarden.ssh;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A request to certify the caller's public key (one OpenSSH line). Empty principals: the role's defaults; empty or
 * null extensions: the role's defaults; critical options are added to the role's defaults.
 */
public record SignRequest(String publicKey, List<String> principals, Optional<Duration> ttl, Optional<String> keyId,
    Map<String, String> extensions, Map<String, String> criticalOptions, Optional<String> caName) {
  public SignRequest {
    principals = principals == null ? List.of() : principals;
    ttl = ttl == null ? Optional.empty() : ttl;
    keyId = keyId == null ? Optional.empty() : keyId;
    criticalOptions = criticalOptions == null ? Map.of() : criticalOptions;
    caName = caName == null ? Optional.empty() : caName;
  }
}
