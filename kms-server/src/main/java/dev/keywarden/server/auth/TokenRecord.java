package dev.keywarden.server.auth;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * What is stored of a token: never the token, only its accessor (a keyed hash of it) and its grants.
 *
 * @param expireTime epoch milliseconds; 0 means it lives until revoked (root tokens)
 */
public record TokenRecord(
    @JsonProperty("accessor") String accessor,
    @JsonProperty("policies") List<String> policies,
    @JsonProperty("display_name") String displayName,
    @JsonProperty("create_time") long createTime,
    @JsonProperty("expire_time") long expireTime) {

  boolean expiredAt(long nowMillis) {
    return expireTime != 0 && nowMillis >= expireTime;
  }

  Caller caller() {
    return new Caller(accessor, policies, displayName);
  }
}
