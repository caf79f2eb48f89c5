package dev.keywarden.ssh;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import dev.keywarden.failure.Inputs;
import dev.keywarden.failure.KeywardenException;
import org.apache.sshd.common.config.keys.OpenSshCertificate;

/** The two kinds of OpenSSH certificate: a user's (for logging in) and a host's (for being logged in to). */
public enum CertType {
  USER("user", OpenSshCertificate.Type.USER),
  HOST("host", OpenSshCertificate.Type.HOST);

  private final String typeName;
  private final OpenSshCertificate.Type wire;

  CertType(String typeName, OpenSshCertificate.Type wire) {
    this.typeName = typeName;
    this.wire = wire;
  }

  /** "user" or "host". */
  @JsonValue
  public String typeName() {
    return typeName;
  }

  OpenSshCertificate.Type wire() {
    return wire;
  }

  /** Parses "user" or "host"; INVALID_ARGUMENT otherwise. */
  @JsonCreator
  public static CertType parse(String name) {
    for (CertType t : values()) {
      if (t.typeName.equals(name)) {
        return t;
      }
    }
    throw KeywardenException.invalid("cert_type: '" + Inputs.quoted(String.valueOf(name))
        + "' is not a certificate type; use \"user\" or \"host\"");
  }
}
