package dev.keywarden.hsm;

/**
 * What an opened HSM is, for status output.
 *
 * @param kind "pkcs11" or "software"
 * @param library the PKCS#11 module path, or "software" for the dev-only provider
 * @param tokenLabel the token's label
 */
public record HsmInfo(String kind, String library, String tokenLabel) {}
