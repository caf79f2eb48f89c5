package dev.keywarden.server.cli;

import picocli.CommandLine.Option;

/** --limit and --after of a command that lists names a page at a time (mixed into the command). */
final class PageOptions {
  @Option(names = "--limit", description = "At most this many (1..10000; default 1000).")
  int limit;

  @Option(names = "--after", description = "Names after this one: the previous page's last (printed as"
      + " 'next: --after NAME' when there are more).")
  String after = "";
}
