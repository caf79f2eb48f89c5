package dev.keywarden.server.gate;

import dev.keywarden.server.auth.Caller;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.BiPredicate;
import java.util.function.Function;

/**
 * One permission an RPC requires, worked out from its request (and, rarely, its caller). Building the resource is
 * where the request's names are validated, so a malformed name is refused before any policy pattern sees it.
 *
 * @param <Q> the request message
 */
public interface Check<Q> {
  /** The permission needed for this request, or empty when none is (e.g. a token looking up itself). */
  Optional<Permission> required(Q request, Caller caller);

  /** Every capability this check can ask for (so the table declares them). */
  Set<String> capabilities();

  /** A capability (or any one of several) on a resource. */
  record Permission(String resource, List<String> anyOf) {}

  /** {@code capability} on the resource built from the request. */
  static <Q> Check<Q> on(Function<Q, String> resource, String capability) {
    return anyOf(resource, capability);
  }

  /** At least one of {@code capabilities} on the resource built from the request. */
  static <Q> Check<Q> anyOf(Function<Q, String> resource, String... capabilities) {
    List<String> caps = List.of(capabilities);
    return new Check<>() {
      @Override
      public Optional<Permission> required(Q request, Caller caller) {
        return Optional.of(new Permission(resource.apply(request), caps));
      }

      @Override
      public Set<String> capabilities() {
        return Set.copyOf(caps);
      }
    };
  }

  /**
   * A capability chosen from the request (e.g. "create" for a role that does not exist yet, "update" for one that
   * does); {@code capability} may only answer one of {@code declared}.
   */
  static <Q> Check<Q> chosen(Function<Q, String> resource, Function<Q, String> capability, Set<String> declared) {
    return new Check<>() {
      @Override
      public Optional<Permission> required(Q request, Caller caller) {
        String c = capability.apply(request);
        if (!declared.contains(c)) {
          throw new IllegalStateException("a rule asked for undeclared capability " + c);
        }
        return Optional.of(new Permission(resource.apply(request), List.of(c)));
      }

      @Override
      public Set<String> capabilities() {
        return declared;
      }
    };
  }

  /** {@code capability} on the resource, but only when {@code applies} holds for this request and caller. */
  static <Q> Check<Q> when(BiPredicate<Q, Caller> applies, Function<Q, String> resource, String capability) {
    Check<Q> inner = on(resource, capability);
    return new Check<>() {
      @Override
      public Optional<Permission> required(Q request, Caller caller) {
        return applies.test(request, caller) ? inner.required(request, caller) : Optional.empty();
      }

      @Override
      public Set<String> capabilities() {
        return inner.capabilities();
      }
    };
  }
}
