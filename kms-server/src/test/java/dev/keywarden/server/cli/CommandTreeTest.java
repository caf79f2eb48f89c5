package dev.keywarden.server.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** A call builds only the commands it runs; help, typos and the whole tree stay as they were. */
class CommandTreeTest {

  @Test
  void everyCommandClassIsInTheTreeOnce() throws Exception {
    List<Class<?>> inTree = new ArrayList<>();
    collect(KeywardenCommand.class, inTree);
    assertEquals(inTree.size(), new HashSet<>(inTree).size(), "a command listed twice: " + inTree);
    Set<String> declared = new TreeSet<>();
    for (Class<?> c : commandClassesInThisPackage()) {
      declared.add(c.getName());
    }
    Set<String> listed = new TreeSet<>();
    inTree.forEach(c -> listed.add(c.getName()));
    listed.remove(CommandLine.HelpCommand.class.getName());
    assertEquals(declared, listed, "every @Command class is reachable from `keywarden`, and nothing else");
  }

  @Test
  void aCallBuildsOnlyTheCommandsOnItsPath() {
    CommandLine cli = CommandTree.forArgs(new KeywardenCommand(), new String[] {"pki", "sign-csr", "web", "--csr",
        "api.csr"});
    assertEquals(Set.of("pki"), cli.getSubcommands().keySet());
    assertEquals(Set.of("sign-csr"), cli.getSubcommands().get("pki").getSubcommands().keySet());
    assertEquals(Set.of("status"), CommandTree.forArgs(new KeywardenCommand(), new String[] {"status"})
        .getSubcommands().keySet());
    CommandLine audit = CommandTree.forArgs(new KeywardenCommand(), new String[] {"audit", "enable", "file", "f"});
    assertEquals(Set.of("file"), audit.getSubcommands().get("audit").getSubcommands().get("enable").getSubcommands()
        .keySet());
    assertTrue(CommandTree.forArgs(new KeywardenCommand(), new String[] {"--version"}).getSubcommands().isEmpty());
  }

  @Test
  void helpTyposAndIncompletePathsGetEverythingBelowWhereTheyStop() {
    CommandLine full = CommandTree.full(new KeywardenCommand());
    for (String[] args : List.of(new String[] {}, new String[] {"--help"}, new String[] {"help", "pki"},
        new String[] {"stauts"}, new String[] {"-V", "status"})) {
      CommandLine cli = CommandTree.forArgs(new KeywardenCommand(), args);
      assertEquals(full.getSubcommands().keySet(), cli.getSubcommands().keySet(), String.join(" ", args));
      assertEquals(full.getSubcommands().get("pki").getSubcommands().keySet(),
          cli.getSubcommands().get("pki").getSubcommands().keySet(), String.join(" ", args));
    }
    for (String[] args : List.of(new String[] {"pki"}, new String[] {"pki", "--help"},
        new String[] {"pki", "sign-cs"})) {
      CommandLine cli = CommandTree.forArgs(new KeywardenCommand(), args);
      assertEquals(Set.of("pki"), cli.getSubcommands().keySet());
      assertEquals(full.getSubcommands().get("pki").getSubcommands().keySet(),
          cli.getSubcommands().get("pki").getSubcommands().keySet(), String.join(" ", args));
    }
  }

  @Test
  void usageListsEveryCommandAsTheWholeTreeDoes() {
    CommandLine full = CommandTree.full(new KeywardenCommand());
    assertEquals(full.getUsageMessage(CommandLine.Help.Ansi.OFF),
        CommandTree.forArgs(new KeywardenCommand(), new String[] {"--help"}).getUsageMessage(CommandLine.Help.Ansi.OFF));
    assertEquals(full.getSubcommands().get("transit").getUsageMessage(CommandLine.Help.Ansi.OFF),
        CommandTree.forArgs(new KeywardenCommand(), new String[] {"transit", "--help"}).getSubcommands()
            .get("transit").getUsageMessage(CommandLine.Help.Ansi.OFF));
    assertTrue(full.getUsageMessage(CommandLine.Help.Ansi.OFF).contains("cert-role"));
  }

  private static void collect(Class<?> type, List<Class<?>> into) {
    for (Class<?> child : CommandTree.subcommands(type)) {
      into.add(child);
      collect(child, into);
    }
  }

  /** The @Command classes compiled into this package, but the root. */
  private static List<Class<?>> commandClassesInThisPackage() throws URISyntaxException, Exception {
    Path dir = Path.of(KeywardenCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI())
        .resolve(KeywardenCommand.class.getPackageName().replace('.', '/'));
    List<Class<?>> found = new ArrayList<>();
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".class")).toList()) {
        String simple = f.getFileName().toString().replace(".class", "");
        Class<?> c = Class.forName(KeywardenCommand.class.getPackageName() + "." + simple, false,
            CommandTreeTest.class.getClassLoader());
        if (c.isAnnotationPresent(Command.class) && c != KeywardenCommand.class) {
          found.add(c);
        }
      }
    }
    return found;
  }

  @Test
  void aKidThatStartsWithADashIsTheKidNotAnUnknownOption() {
    KeywardenCommand root = new KeywardenCommand();
    String[] args = {"jwt", "revoke-version", "es256", "-Xq3vZ_kid"};
    picocli.CommandLine.ParseResult r = CommandTree.forArgs(root, args).parseArgs(args);
    JwtCommand.RevokeVersion cmd = (JwtCommand.RevokeVersion) r.subcommand().subcommand().commandSpec().userObject();
    assertEquals("-Xq3vZ_kid", cmd.kid);
  }
}
