package dev.keywarden.server.gate;

import io.grpc.MethodDescriptor;
import io.grpc.ServiceDescriptor;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * A service's authorization table: for each RPC, either open (no credentials: status, init, unseal, …) or the checks
 * a caller must pass, all of them, in order. The gate enforces it before the handler runs; a service with an RPC
 * that has no rule does not start.
 */
public final class ServiceRules {
  private final ServiceDescriptor service;
  private final Map<String, Rule> rules;

  /** One RPC's rule: open, or checks that all must pass. */
  public record Rule(boolean open, List<Check<Object>> checks) {}

  private ServiceRules(ServiceDescriptor service, Map<String, Rule> rules) {
    this.service = service;
    this.rules = Map.copyOf(rules);
  }

  /** Starts the table of {@code service}. */
  public static Builder of(ServiceDescriptor service) {
    return new Builder(service);
  }

  public ServiceDescriptor service() {
    return service;
  }

  /** The rule of a method by its full name ("keywarden.v1.TransitService/Encrypt"); null when it has none. */
  public Rule rule(String fullMethodName) {
    return rules.get(fullMethodName);
  }

  /** Methods of the service that have no rule (none, for a table the gate accepts). */
  public List<String> uncovered() {
    List<String> missing = new ArrayList<>();
    for (MethodDescriptor<?, ?> m : service.getMethods()) {
      if (!rules.containsKey(m.getFullMethodName())) {
        missing.add(m.getFullMethodName());
      }
    }
    return missing;
  }

  /** Every capability the table's checks can ask for. */
  public Set<String> capabilities() {
    TreeSet<String> all = new TreeSet<>();
    rules.values().forEach(r -> r.checks().forEach(c -> all.addAll(c.capabilities())));
    return all;
  }

  /** Builds a table; each method is named once. */
  public static final class Builder {
    private final ServiceDescriptor service;
    private final Map<String, Rule> rules = new HashMap<>();

    private Builder(ServiceDescriptor service) {
      this.service = service;
    }

    /** The RPC needs no credentials and works while sealed (the handler decides). */
    public Builder open(MethodDescriptor<?, ?> method) {
      return put(method, new Rule(true, List.of()));
    }

    /** The RPC needs {@code capability} on the resource built from its request. */
    public <Q> Builder allow(MethodDescriptor<Q, ?> method, Function<Q, String> resource, String capability) {
      return checks(method, List.of(Check.on(resource, capability)));
    }

    /** The RPC needs every one of {@code checks}, in order. */
    @SafeVarargs
    public final <Q> Builder checks(MethodDescriptor<Q, ?> method, Check<Q>... checks) {
      return checks(method, List.of(checks));
    }

    @SuppressWarnings("unchecked")
    private <Q> Builder checks(MethodDescriptor<Q, ?> method, List<Check<Q>> checks) {
      List<Check<Object>> erased = new ArrayList<>();
      checks.forEach(c -> erased.add((Check<Object>) c));
      return put(method, new Rule(false, List.copyOf(erased)));
    }

    private Builder put(MethodDescriptor<?, ?> method, Rule rule) {
      if (!method.getServiceName().equals(service.getName())) {
        throw new IllegalArgumentException(method.getFullMethodName() + " is not a method of " + service.getName());
      }
      if (rules.putIfAbsent(method.getFullMethodName(), rule) != null) {
        throw new IllegalArgumentException(method.getFullMethodName() + " has two rules");
      }
      return this;
    }

    public ServiceRules build() {
      return new ServiceRules(service, rules);
    }
  }
}
