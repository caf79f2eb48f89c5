package dev.keywarden.audit;

import java.util.List;

/**
 * Who made a call, as the gate authenticated them. Holds no secret: a token caller is named by its accessor.
 *
 * @param authMethod "token", "cert", "jwt", … ; empty for an open RPC (no caller)
 * @param principal the display name
 * @param accessor the token's accessor, or empty
 * @param certificateSerial the client certificate's serial (hex), or empty
 * @param jwtSubject the subject of the JWT a login used, or empty
 * @param policies the caller's policies
 */
public record AuditCaller(String authMethod, String principal, String accessor, String certificateSerial,
                          String jwtSubject, List<String> policies) {
  /** The caller of an open RPC (status, unseal, logins): nobody yet. */
  public static final AuditCaller NONE = new AuditCaller("", "", "", "", "", List.of());

  public AuditCaller {
    authMethod = orEmpty(authMethod);
    principal = orEmpty(principal);
    accessor = orEmpty(accessor);
    certificateSerial = orEmpty(certificateSerial);
    jwtSubject = orEmpty(jwtSubject);
    policies = policies == null ? List.of() : List.copyOf(policies);
  }

  static String orEmpty(String s) {
    return s == null ? "" : s;
  }
}
