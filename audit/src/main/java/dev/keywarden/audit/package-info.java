/**
 * The audit log (issue #12): two records per call, written before and after the engine runs, to file and socket
 * devices; a SHA-256 hash chain per device with checkpoints signed in the HSM; secrets as per-device HMACs; and the
 * offline verifier. The request gate calls {@link dev.keywarden.audit.AuditLog} twice per RPC; see its Javadoc.
 */
package dev.keywarden.audit;
