package dev.keywarden.unseal;

/** A rekey or generate-root was started: its nonce, and how many current shares it needs. */
public record CeremonyStarted(String nonce, int required) {}
