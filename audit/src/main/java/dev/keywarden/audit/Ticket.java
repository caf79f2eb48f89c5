package dev.keywarden.audit;

import java.util.ArrayList;
import java.util.List;

/**
 * One record handed to every open device: the call waits until one device wrote it, or every device failed, or the
 * deadline passed. A request whose call gave up is abandoned, and writers that have not taken it yet drop it (the
 * call did not run, so its request record must not appear; one a writer already took may still land).
 */
final class Ticket {
  private final List<String> devices;
  /** Per device (same index): whether it answered, and why it failed (null: it wrote the record). */
  private final boolean[] answered;
  private final String[] failures;
  private int answers;
  private final Runnable onLost;
  private final Outcome outcome;
  private boolean written;
  private boolean abandoned;
  private boolean told;

  /** What a ticket nobody waits on says, once: written, or refused (every device failed, or it expired). */
  interface Outcome {
    void written();

    void refused();
  }

  /** A ticket the call waits on ({@link #await}). */
  Ticket(List<String> devices) {
    this(devices, null, null);
  }

  /**
   * A ticket nobody waits on (a response record): {@code onLost} runs once, on the thread of the last device to
   * answer, when every device answered and none wrote the record.
   */
  Ticket(List<String> devices, Runnable onLost) {
    this(devices, onLost, null);
  }

  /**
   * A request record whose call does not wait (its answer is held until the record is written): {@code outcome}
   * hears once, on the thread of the device that decided it or of {@link #expire}.
   */
  Ticket(List<String> devices, Outcome outcome) {
    this(devices, null, outcome);
  }

  private Ticket(List<String> devices, Runnable onLost, Outcome outcome) {
    this.devices = List.copyOf(devices);
    this.answered = new boolean[this.devices.size()];
    this.failures = new String[this.devices.size()];
    this.onLost = onLost;
    this.outcome = outcome;
  }

  /** Whether a call waits on this record (a request); false for a response record, which nobody waits for. */
  boolean awaited() {
    return onLost == null;
  }

  /** A device's outcome: {@code failure} null when it wrote the record. */
  void done(String device, String failure) {
    int d = devices.indexOf(device);
    boolean lost;
    boolean tellWritten = false;
    boolean tellRefused = false;
    synchronized (this) {
      if (abandoned || d < 0 || answered[d]) {
        return;
      }
      answered[d] = true;
      failures[d] = failure;
      answers++;
      if (failure == null) {
        written = true;
      }
      boolean all = answers == devices.size();
      lost = onLost != null && !written && all;
      if (outcome != null && (written || all) && !told) {
        told = true;
        tellWritten = written;
        tellRefused = !written;
        abandoned = !written;
      }
      if (onLost == null && outcome == null) {
        notifyAll();
      }
    }
    if (lost) {
      onLost.run();
    }
    if (tellWritten) {
      outcome.written();
    } else if (tellRefused) {
      outcome.refused();
    }
  }

  /**
   * The deadline of a ticket nobody waits on passed: if no device wrote it yet, it is abandoned (writers that have
   * not taken it drop it) and refused. Returns whether this refused it.
   */
  boolean expire() {
    synchronized (this) {
      if (told) {
        return false;
      }
      told = true;
      abandoned = true;
    }
    outcome.refused();
    return true;
  }

  /** For a writer about to write the record: false when the call gave up on it. */
  synchronized boolean claim() {
    return !abandoned;
  }

  /**
   * Waits until a device wrote the record (true), or all failed, or {@code deadlineNanos} passed (false). When
   * {@code abandonOnFailure}, a false return abandons the record.
   */
  synchronized boolean await(long deadlineNanos, boolean abandonOnFailure) {
    boolean interrupted = false;
    try {
      while (!written && answers < devices.size()) {
        long left = deadlineNanos - System.nanoTime();
        if (left <= 0) {
          break;
        }
        try {
          wait(left / 1_000_000, (int) (left % 1_000_000));
        } catch (InterruptedException e) {
          interrupted = true;
          break;
        }
      }
      if (!written && abandonOnFailure) {
        abandoned = true;
      }
      return written;
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** "name: why" for each device that did not write it, "timed out" for those that did not answer. */
  synchronized List<String> failures() {
    List<String> out = new ArrayList<>();
    for (int d = 0; d < answered.length; d++) {
      if (!answered[d]) {
        out.add(devices.get(d) + ": timed out");
      } else if (failures[d] != null) {
        out.add(devices.get(d) + ": " + failures[d]);
      }
    }
    return out;
  }

  /** The devices that have not answered. */
  synchronized List<String> unanswered() {
    List<String> out = new ArrayList<>();
    for (int d = 0; d < answered.length; d++) {
      if (!answered[d]) {
        out.add(devices.get(d));
      }
    }
    return out;
  }
}
