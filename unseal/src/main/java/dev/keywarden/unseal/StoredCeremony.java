package dev.keywarden.unseal;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.keywarden.failure.KeywardenException;
import dev.keywarden.hsm.KeyEncryptionKey;
import dev.keywarden.storage.CasRetry;
import dev.keywarden.storage.Storage;
import dev.keywarden.storage.StoredEntry;
import dev.keywarden.storage.StoredJson;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Optional;

/**
 * A rekey or generate-root in progress, kept in storage so that every server sharing the store takes part in it: an
 * operator may submit each share to any node. The shares submitted so far are stored wrapped by the KEK (every node
 * that can take part is unsealed and holds the same KEK); each submission is a compare-and-set of the one record, and
 * the submission that brings it to K removes the record in the same compare-and-set, so exactly one node completes the
 * ceremony. A ceremony left unfinished expires {@link #TTL} after it started.
 */
final class StoredCeremony {
  static final String PREFIX = "sys/ceremony/";
  static final Duration TTL = Duration.ofHours(24);

  /** Which ceremony: its storage key and the name operators know it by. */
  enum Kind {
    REKEY("rekey"), GENERATE_ROOT("generate-root");

    final String name;

    Kind(String name) {
      this.name = name;
    }

    String key() {
      return PREFIX + name;
    }
  }

  /** One submitted share, its bytes wrapped by the KEK. */
  record WrappedShare(int index, String wrapped) {}

  /** The stored record. {@code threshold} is K of the share set it collects ({@code shareSetId}). */
  record Record(String nonce, @JsonProperty("share_set_id") int shareSetId, int threshold,
                @JsonProperty("new_shares") int newShares, @JsonProperty("new_threshold") int newThreshold,
                @JsonProperty("started_at") String startedAt, List<WrappedShare> shares) {
    boolean expired(Instant now) {
      return Instant.parse(startedAt).plus(TTL).isBefore(now);
    }
  }

  /** What a submission came to: still pending (with the count), or complete with the K shares, unwrapped. */
  record Outcome(Record record, int progress, List<UnsealShare> complete) {
    boolean done() {
      return complete != null;
    }
  }

  private final Storage storage;
  private final Kind kind;

  StoredCeremony(Storage storage, Kind kind) {
    this.storage = storage;
    this.kind = kind;
  }

  /** The ceremony in progress, if any (an expired one counts as none). */
  Optional<Record> current() {
    return read().map(e -> StoredJson.read(e.value(), Record.class)).filter(r -> !r.expired(Instant.now()));
  }

  /** Starts one for {@code header}'s share set; FAILED_PRECONDITION naming the nonce of one already in progress. */
  void start(String nonce, SealHeader header, int newShares, int newThreshold) {
    byte[] value = StoredJson.write(new Record(nonce, header.shareSetId(), header.threshold(), newShares,
        newThreshold, Instant.now().toString(), List.of()));
    CasRetry.untilStored("the " + kind.name + " in progress", () -> {
      Optional<StoredEntry> e = read();
      if (e.isPresent()) {
        Record r = StoredJson.read(e.get().value(), Record.class);
        if (!r.expired(Instant.now())) {
          throw KeywardenException.precondition(
              "a " + kind.name + " is already in progress (nonce " + r.nonce() + "); cancel it first");
        }
      }
      long version = e.map(StoredEntry::version).orElse(0L);
      return storage.compareAndSet(kind.key(), version, value) ? Optional.of(true) : Optional.empty();
    });
  }

  /**
   * Adds {@code share} (which this consumes) to the ceremony {@code nonce} of {@code header}'s share set. The same
   * share twice counts once. At K shares the record is removed and the shares returned unwrapped: the caller then
   * completes the ceremony and destroys them.
   */
  Outcome submit(String nonce, UnsealShare share, SealHeader header, KeyEncryptionKey kek) {
    try {
      return CasRetry.untilStored("the " + kind.name + " in progress", () -> attempt(nonce, share, header, kek));
    } finally {
      share.destroy();
    }
  }

  private Optional<Outcome> attempt(String nonce, UnsealShare share, SealHeader header, KeyEncryptionKey kek) {
    Optional<StoredEntry> e = read();
    Record r = e.map(x -> StoredJson.read(x.value(), Record.class)).orElse(null);
    if (r == null || r.expired(Instant.now())) {
      throw KeywardenException.precondition("no " + kind.name + " is in progress (it may have just completed or been"
          + " cancelled on another server): start one first");
    }
    if (!r.nonce().equals(nonce)) {
      throw KeywardenException.invalid("nonce does not match the " + kind.name + " in progress");
    }
    if (r.shareSetId() != header.shareSetId()) {
      throw KeywardenException.precondition("the shares were replaced (a rekey completed) after this " + kind.name
          + " started: cancel it and start again");
    }
    if (share.shareSetId() != header.shareSetId()) {
      throw KeywardenException.invalid("share " + share.index()
          + " belongs to another share set, not the current one (replaced by a rekey?); progress unchanged");
    }
    List<WrappedShare> shares = new ArrayList<>(r.shares());
    for (WrappedShare w : shares) {
      if (w.index() == share.index()) {
        byte[] known = kek.unwrap(Base64.getDecoder().decode(w.wrapped()));
        try {
          if (!Arrays.equals(known, share.value())) {
            throw KeywardenException.invalid("a different share " + share.index()
                + " was already submitted; progress unchanged");
          }
        } finally {
          Arrays.fill(known, (byte) 0);
        }
        return Optional.of(new Outcome(r, shares.size(), null));
      }
    }
    shares.add(new WrappedShare(share.index(), Base64.getEncoder().encodeToString(kek.wrap(share.value()))));
    long version = e.get().version();
    if (shares.size() < r.threshold()) {
      Record next = new Record(r.nonce(), r.shareSetId(), r.threshold(), r.newShares(), r.newThreshold(),
          r.startedAt(), List.copyOf(shares));
      return storage.compareAndSet(kind.key(), version, StoredJson.write(next))
          ? Optional.of(new Outcome(next, shares.size(), null)) : Optional.empty();
    }
    if (!removeIfAt(version)) {
      return Optional.empty();
    }
    List<UnsealShare> unwrapped = new ArrayList<>();
    try {
      for (WrappedShare w : shares) {
        unwrapped.add(new UnsealShare(r.shareSetId(), w.index(), r.threshold(),
            kek.unwrap(Base64.getDecoder().decode(w.wrapped()))));
      }
    } catch (RuntimeException x) {
      unwrapped.forEach(UnsealShare::destroy);
      throw x;
    }
    return Optional.of(new Outcome(r, shares.size(), List.copyOf(unwrapped)));
  }

  /**
   * Cancels the ceremony in progress; FAILED_PRECONDITION when there is none. Removes exactly the ceremony it read
   * (compare-and-delete): shares another server adds meanwhile do not save it, but a ceremony another server started
   * after this one ended is not cancelled by mistake.
   */
  void cancel() {
    String seen = null;
    for (int attempt = 0; ; attempt++) {
      Optional<StoredEntry> e = read();
      Record r = e.map(x -> StoredJson.read(x.value(), Record.class)).orElse(null);
      if (r == null || r.expired(Instant.now())) {
        e.ifPresent(x -> removeIfAt(x.version()));
        throw KeywardenException.precondition("no " + kind.name + " is in progress");
      }
      if (seen != null && !seen.equals(r.nonce())) {
        throw KeywardenException.precondition("the " + kind.name + " ended and another one (nonce " + r.nonce()
            + ") started while cancelling; it was not cancelled: cancel again to cancel it");
      }
      seen = r.nonce();
      if (removeIfAt(e.get().version())) {
        return;
      }
      if (attempt >= 100) {
        throw KeywardenException.unavailable("the " + kind.name + " changed on every attempt to cancel it; try again",
            null);
      }
    }
  }

  /** Cancels any ceremony in progress (seal --all). */
  void discard() {
    storage.delete(kind.key());
  }

  private Optional<StoredEntry> read() {
    return storage.get(kind.key());
  }

  private boolean removeIfAt(long version) {
    return storage.atomically(tx -> {
      Optional<StoredEntry> now = tx.get(kind.key());
      if (now.isEmpty() || now.get().version() != version) {
        return false;
      }
      tx.delete(kind.key());
      return true;
    });
  }
}
