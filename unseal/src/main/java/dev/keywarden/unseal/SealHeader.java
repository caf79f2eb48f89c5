package dev.keywarden.unseal;

/**
 * The clear, authenticated part of the seal envelope: which share set opens it and how many shares that takes.
 *
 * @param shareSetId the id every share of the current split carries
 * @param shares N
 * @param threshold K
 * @param kekLabel the KEK's label on the token (not secret; shown by status while sealed)
 */
public record SealHeader(int shareSetId, int shares, int threshold, String kekLabel) {}
