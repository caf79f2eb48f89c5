package dev.keywarden.client;

import io.grpc.Status;
import java.util.Objects;

/**
 * The outcome of one item of a batch call: its value, or its own error. A failed item does not fail the batch: the
 * server answers every item on its own.
 *
 * @param <T> the value type (a ciphertext {@code String}, a plaintext {@code byte[]})
 */
public final class ItemResult<T> {
  private final T value;
  private final KeywardenClientException error;

  private ItemResult(T value, KeywardenClientException error) {
    this.value = value;
    this.error = error;
  }

  /** A successful item. */
  public static <T> ItemResult<T> success(T value) {
    return new ItemResult<>(Objects.requireNonNull(value, "value"), null);
  }

  /** A failed item. */
  public static <T> ItemResult<T> failure(KeywardenClientException error) {
    return new ItemResult<>(null, Objects.requireNonNull(error, "error"));
  }

  /** True when the item succeeded. */
  public boolean isSuccess() {
    return error == null;
  }

  /** The item's value; throws the item's error when it failed. */
  public T value() {
    if (error != null) {
      throw error;
    }
    return value;
  }

  /** OK for a successful item, else the item's code. */
  public Status.Code code() {
    return error == null ? Status.Code.OK : error.code();
  }

  /** The item's error message, or "" when it succeeded. */
  public String message() {
    return error == null ? "" : error.description();
  }

  /** The item's error, or null when it succeeded. */
  public KeywardenClientException error() {
    return error;
  }

  /** Never the value: it may be a plaintext. */
  @Override
  public String toString() {
    return error == null ? "ItemResult[OK]" : "ItemResult[" + error.getMessage() + "]";
  }
}
