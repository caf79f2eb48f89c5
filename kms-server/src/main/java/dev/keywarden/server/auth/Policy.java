package dev.keywarden.server.auth;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.core.JsonProcessingException;
import dev.keywarden.callerjson.CallerJson;
import dev.keywarden.failure.Inputs;
import dev.keywarden.failure.KeywardenException;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * A named set of rules. Deny by default: a capability is granted when some rule whose resource matches grants it and no
 * matching rule says "deny".
 */
public record Policy(String name, List<PolicyRule> rules) {
  /** The built-in policy of root tokens: every capability on every resource. */
  public static final String ROOT = "root";
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]{1,128}");
  private static final Pattern RESOURCE = Pattern.compile("[A-Za-z0-9/_.*+:@=-]{1,512}");
  private static final ObjectMapper JSON = CallerJson.mapper().enable(SerializationFeature.INDENT_OUTPUT);

  /** The JSON form. */
  record Document(@JsonProperty("rules") List<RuleDocument> rules) {}

  /** One rule's JSON form. */
  record RuleDocument(@JsonProperty("resource") String resource,
                      @JsonProperty("capabilities") List<String> capabilities) {}

  /** Checks a policy name; INVALID_ARGUMENT says what is allowed. */
  public static void validateName(String name) {
    if (name == null || !NAME.matcher(name).matches()) {
      throw KeywardenException.invalid("policy name must be 1..128 letters, digits, '.', '_' or '-', got '"
          + Inputs.quoted(name) + "'");
    }
  }

  /** Parses and validates a policy document; INVALID_ARGUMENT names the field that is wrong. */
  public static Policy parse(String name, String json, Capabilities capabilities) {
    validateName(name);
    Document doc = CallerJson.read(JSON, "policy document", json, Document.class);
    if (doc.rules() == null || doc.rules().isEmpty()) {
      throw KeywardenException.invalid("policy document needs a non-empty \"rules\" list");
    }
    List<PolicyRule> rules = new ArrayList<>();
    for (int i = 0; i < doc.rules().size(); i++) {
      RuleDocument r = doc.rules().get(i);
      String where = "rules[" + i + "]";
      if (r == null || r.resource() == null || r.resource().isEmpty()) {
        throw KeywardenException.invalid(where + ".resource is missing");
      }
      if (!RESOURCE.matcher(r.resource()).matches()) {
        throw KeywardenException.invalid(where + ".resource '" + Inputs.quoted(r.resource())
            + "' has characters other than letters, digits and / _ . * + : @ = -");
      }
      if (r.capabilities() == null || r.capabilities().isEmpty()) {
        throw KeywardenException.invalid(where + ".capabilities is missing or empty");
      }
      for (String c : r.capabilities()) {
        if (c == null || !capabilities.isKnown(c)) {
          throw KeywardenException.invalid(where + ".capabilities: unknown capability '" + Inputs.quoted(c)
              + "'; known: " + capabilities.known());
        }
      }
      rules.add(PolicyRule.of(r.resource(), r.capabilities()));
    }
    return new Policy(name, List.copyOf(rules));
  }

  /** The normalized JSON document. */
  public String toJson() {
    List<RuleDocument> docs = rules.stream()
        .map(r -> new RuleDocument(r.resource(), r.capabilities().stream().sorted().toList())).toList();
    try {
      return JSON.writeValueAsString(new Document(docs));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Whether this policy alone grants {@code capability} on {@code resource}, or denies it. */
  Decision decide(String resource, String capability) {
    Decision decision = Decision.NONE;
    for (PolicyRule rule : rules) {
      if (rule.matches(resource)) {
        if (rule.capabilities().contains(Capabilities.DENY)) {
          return Decision.DENY;
        }
        if (rule.capabilities().contains(capability)) {
          decision = Decision.ALLOW;
        }
      }
    }
    return decision;
  }

  enum Decision { NONE, ALLOW, DENY }
}
