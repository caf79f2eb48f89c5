package dev.keywarden.jwt;

import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/** What a {@code tick} or {@code tidy} changed: state changes of versions, scheduled rotations, problems met. */
public record LifecycleReport(List<Change> changes, List<RotationResult> rotations, List<String> problems) {

  /** Version {@code version} ({@code kid}) of {@code key} went from {@code from} to {@code to}. */
  public record Change(String key, int version, String kid, JwtVersionState from, JwtVersionState to) {
    @Override
    public String toString() {
      return key + " v" + version + " " + (from == null ? "new" : from.stateName()) + " -> " + to.stateName();
    }
  }

  /** Copies the lists. */
  public LifecycleReport {
    changes = List.copyOf(changes);
    rotations = List.copyOf(rotations);
    problems = List.copyOf(problems);
  }

  /** True when nothing changed and nothing went wrong. */
  public boolean isEmpty() {
    return changes.isEmpty() && rotations.isEmpty() && problems.isEmpty();
  }

  /** One line for the periodic task's log, or null when there is nothing to say. */
  public String summary() {
    if (isEmpty()) {
      return null;
    }
    return Stream.of(changes.stream().map(Change::toString),
            rotations.stream().map(r -> r.key() + " rotated: v" + r.version() + " active from " + r.activeFrom()),
            problems.stream())
        .flatMap(s -> s).collect(Collectors.joining("; "));
  }
}
