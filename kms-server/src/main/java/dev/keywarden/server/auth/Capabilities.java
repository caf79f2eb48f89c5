package dev.keywarden.server.auth;

import java.util.Collection;
import java.util.Set;
import java.util.TreeSet;

/**
 * Every capability a policy rule may grant: the generic ones and those the services' authorization tables declare (so
 * a new engine adds its capabilities by declaring its table, and a typo in a policy is refused, not ignored).
 */
public final class Capabilities {
  /** Refuses everything on the resources a rule matches, whatever other rules grant. */
  public static final String DENY = "deny";
  /** Capabilities any resource may use, whether or not a table names them. */
  public static final Set<String> GENERIC = Set.of("read", "create", "update", "delete", "list", DENY);

  private final Set<String> known;

  public Capabilities(Collection<String> declared) {
    TreeSet<String> all = new TreeSet<>(GENERIC);
    all.addAll(declared);
    this.known = Set.copyOf(all);
  }

  /** Whether a policy may name {@code capability}. */
  public boolean isKnown(String capability) {
    return known.contains(capability);
  }

  /** Everything a rule may grant (all but "deny"), sorted. */
  public Set<String> grantable() {
    TreeSet<String> all = new TreeSet<>(known);
    all.remove(DENY);
    return all;
  }

  /** The known capabilities, sorted, for messages. */
  public String known() {
    return String.join(", ", new TreeSet<>(known));
  }
}
