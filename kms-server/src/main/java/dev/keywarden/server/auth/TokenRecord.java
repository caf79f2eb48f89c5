package dev.keywarden.server.auth;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;
import java.util.Map;

/**
 * What is stored of a token: never the token, only its accessor (a keyed hash of it), its grants and its place in the
 * token tree.
 *
 * @param expireTime epoch milliseconds; 0 means it lives until revoked (root tokens)
 * @param parent the accessor of the token that created it; null for root tokens, orphans and login tokens. Revoking
 *     a token revokes every token below it.
 * @param metadata non-secret facts about how it was obtained (the login's role, a JWT's subject and issuer)
 */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonInclude(JsonInclude.Include.NON_NULL)
public record TokenRecord(
    @JsonProperty("accessor") String accessor,
    @JsonProperty("policies") List<String> policies,
    @JsonProperty("display_name") String displayName,
    @JsonProperty("create_time") long createTime,
    @JsonProperty("expire_time") long expireTime,
    @JsonProperty("parent") String parent,
    @JsonProperty("metadata") Map<String, String> metadata) {

  boolean expiredAt(long nowMillis) {
    return expireTime != 0 && nowMillis >= expireTime;
  }

  Caller caller() {
    return new Caller("token", accessor, policies, displayName, metadata == null ? Map.of() : metadata, expireTime);
  }
}
