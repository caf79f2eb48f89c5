package dev.keywarden.unseal;

import dev.keywarden.hsm.HsmInfo;

/** What `keywarden status` shows. Nothing secret. */
public record CoreStatus(
    boolean initialized,
    boolean sealed,
    int threshold,
    int shares,
    int unsealProgress,
    HsmInfo hsm,
    String kekLabel,
    String storageKind,
    String rekeyNonce,
    String generateRootNonce) {}
