package dev.keywarden.pki;

import java.net.InetAddress;
import java.net.URI;
import java.util.List;
import java.util.Optional;

/**
 * The names a client asks for: a subject common name (may be absent) and subject alternative names.
 *
 * @param commonName the subject CN, or empty for none (a SPIFFE workload often has none)
 */
public record RequestedNames(Optional<String> commonName, List<String> dnsNames, List<InetAddress> ipAddresses,
    List<URI> uris) {

  public RequestedNames {
    commonName = commonName == null ? Optional.empty() : commonName.filter(cn -> !cn.isEmpty());
    dnsNames = dnsNames == null ? List.of() : List.copyOf(dnsNames);
    ipAddresses = ipAddresses == null ? List.of() : List.copyOf(ipAddresses);
    uris = uris == null ? List.of() : List.copyOf(uris);
  }

  /** Only a common name. */
  public static RequestedNames commonName(String cn) {
    return new RequestedNames(Optional.ofNullable(cn), List.of(), List.of(), List.of());
  }

  /** Total number of names, the CN included. */
  public int count() {
    return (commonName.isPresent() ? 1 : 0) + dnsNames.size() + ipAddresses.size() + uris.size();
  }
}
