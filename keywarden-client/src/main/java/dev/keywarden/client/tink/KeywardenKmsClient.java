package dev.keywarden.client.tink;

import com.google.crypto.tink.Aead;
import com.google.crypto.tink.KmsClient;
import dev.keywarden.client.KeywardenClient;
import java.security.GeneralSecurityException;
import java.util.Objects;

/**
 * Keywarden as Tink's KMS: a {@link KmsClient} for {@code keywarden://HOST:PORT/transit/keys/NAME} whose
 * {@link Aead} is the transit key (see {@link KeywardenAead} for what it binds), so {@code KmsEnvelopeAead} wraps its
 * data keys with Keywarden as it does with AWS KMS or GCP KMS.
 *
 * <p>It calls through one {@link KeywardenClient} (address, TLS, credentials, deadline, retries) and supports the
 * URIs whose HOST:PORT is that client's address, written the same way (the host compared without case). Bound to one
 * key URI ({@link #withKeyUri}), it supports only that one, as Tink's AWS and GCP clients do. Credentials are the
 * client's: {@link #withCredentials} and {@link #withDefaultCredentials} change nothing. Nothing is registered
 * globally; {@code KmsClients.add(kmsClient)} is the caller's choice.
 */
public final class KeywardenKmsClient implements KmsClient {
  private final KeywardenClient client;
  private final KeywardenKeyUri boundKey;

  /** A KMS client for every key on the client's server. */
  public KeywardenKmsClient(KeywardenClient client) {
    this(client, null);
  }

  private KeywardenKmsClient(KeywardenClient client, KeywardenKeyUri boundKey) {
    this.client = Objects.requireNonNull(client, "client");
    this.boundKey = boundKey;
  }

  /** A KMS client for this one key URI only; IllegalArgumentException if it is not one on the client's server. */
  public KeywardenKmsClient withKeyUri(String keyUri) {
    KeywardenKeyUri uri = KeywardenKeyUri.parse(keyUri);
    if (!sameServer(uri)) {
      throw new IllegalArgumentException("key URI " + uri + " names another server than the client's "
          + client.address());
    }
    return new KeywardenKmsClient(client, uri);
  }

  /** True for a well-formed {@code keywarden://} URI on the client's server (and the bound key, when bound). */
  @Override
  public boolean doesSupport(String keyUri) {
    KeywardenKeyUri uri;
    try {
      uri = KeywardenKeyUri.parse(keyUri);
    } catch (IllegalArgumentException e) {
      return false;
    }
    return boundKey != null ? boundKey.equals(uri) : sameServer(uri);
  }

  /** Changes nothing: the credentials are the {@link KeywardenClient}'s (token or client certificate). */
  @Override
  public KmsClient withCredentials(String credentialPath) {
    return this;
  }

  /** Changes nothing: the credentials are the {@link KeywardenClient}'s (token or client certificate). */
  @Override
  public KmsClient withDefaultCredentials() {
    return this;
  }

  /** The transit key's {@link Aead}; no call is made until it is used. */
  @Override
  public Aead getAead(String keyUri) throws GeneralSecurityException {
    KeywardenKeyUri uri;
    try {
      uri = KeywardenKeyUri.parse(keyUri);
    } catch (IllegalArgumentException e) {
      throw new GeneralSecurityException(e.getMessage(), e);
    }
    if (!doesSupport(keyUri)) {
      throw new GeneralSecurityException("this KeywardenKmsClient does not support " + uri + ": it "
          + (boundKey != null ? "is bound to " + boundKey : "calls " + client.address()));
    }
    return new KeywardenAead(client.transit(), uri.keyName());
  }

  private boolean sameServer(KeywardenKeyUri uri) {
    return uri.address().equalsIgnoreCase(client.address());
  }

  @Override
  public String toString() {
    return "KeywardenKmsClient[" + (boundKey != null ? boundKey : client.address()) + "]";
  }
}
