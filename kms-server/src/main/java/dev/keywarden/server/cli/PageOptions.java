package dev.keywarden.server.cli;

import picocli.CommandLine.Option;

/** --limit and --after of a command that lists names or serials a page at a time (mixed into the command). */
final class PageOptions {
  @Option(names = "--limit", description = "At most this many (1..10000; default 1000).")
  int limit;

  @Option(names = "--after", description = "Entries after this one (a name or serial): the previous page's last"
      + " (printed as 'next: --after ENTRY' when there are more).")
  String after = "";
}
