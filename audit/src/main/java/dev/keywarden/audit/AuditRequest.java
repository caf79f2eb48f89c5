package dev.keywarden.audit;

import java.util.Arrays;
import java.util.Map;

/**
 * What the request record of a call says: written before the engine runs. {@code secrets} (tokens, plaintexts,
 * ciphertexts, data keys, private keys, shares, the PIN, JWTs) are never written: each device writes
 * {@code hmac-sha256:<hex>} of them under its own audit key. The arrays are read, not copied nor zeroized: the caller
 * keeps owning them and may zeroize them once {@link AuditLog#writeRequest} returned.
 *
 * @param rpc the full gRPC method name, e.g. "keywarden.v1.TransitService/Encrypt"
 * @param resource the resource the rule checked (e.g. "transit/keys/app"), or empty for open RPCs
 * @param capability the capability checked (e.g. "encrypt"), or empty
 * @param caller who called ({@link AuditCaller#NONE} for open RPCs)
 * @param remoteAddress the peer's address, e.g. "127.0.0.1:53122"
 * @param allowed whether the gate let the call through
 * @param reason why (the granting policy, or the refusal's message)
 * @param engine the identifiers that matter to the engine: key name and version, certificate serial, role, issuer
 * @param secrets named secret values, written only as HMACs
 * @param batchItems the number of items of a batch call, 0 for a single call
 */
public record AuditRequest(String rpc, String resource, String capability, AuditCaller caller, String remoteAddress,
                           boolean allowed, String reason, Map<String, String> engine, Map<String, byte[]> secrets,
                           int batchItems) {
  public AuditRequest {
    rpc = AuditCaller.orEmpty(rpc);
    resource = AuditCaller.orEmpty(resource);
    capability = AuditCaller.orEmpty(capability);
    caller = caller == null ? AuditCaller.NONE : caller;
    remoteAddress = AuditCaller.orEmpty(remoteAddress);
    reason = AuditCaller.orEmpty(reason);
    engine = AuditResponse.sortedCopy(engine);
    secrets = AuditResponse.sortedCopy(secrets);
    if (batchItems < 0) {
      throw new IllegalArgumentException("batchItems < 0");
    }
  }

  @Override
  public String toString() {
    return "AuditRequest[rpc=" + rpc + ", resource=" + resource + ", capability=" + capability + ", allowed="
        + allowed + ", secrets=" + secrets.keySet() + "]";
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof AuditRequest r && rpc.equals(r.rpc) && resource.equals(r.resource)
        && capability.equals(r.capability) && caller.equals(r.caller) && remoteAddress.equals(r.remoteAddress)
        && allowed == r.allowed && reason.equals(r.reason) && engine.equals(r.engine)
        && batchItems == r.batchItems && AuditResponse.sameSecrets(secrets, r.secrets);
  }

  @Override
  public int hashCode() {
    return rpc.hashCode() * 31 + Arrays.hashCode(secrets.keySet().toArray());
  }
}
