package dev.keywarden.jwt;

import java.util.List;

/** A deleted key: the kids whose private keys were destroyed, and any that could not be (to remove by hand). */
public record DeletedJwtKey(String name, List<String> destroyedKids, List<String> problems) {

  /** Copies the lists. */
  public DeletedJwtKey {
    destroyedKids = List.copyOf(destroyedKids);
    problems = List.copyOf(problems);
  }
}
