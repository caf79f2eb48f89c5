package dev.keywarden.server.cli;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * Which commands each command groups, and the command line a call needs. picocli builds a model of every command it
 * is given (reflection over each class, its options and their types): for all ~130 commands that was half of a short
 * client call. So a call gets only the commands on its path (`pki sign-csr`: keywarden, pki, sign-csr); a path that
 * names no command here (help, `help NAME`, a typo, an {@code @file}) gets the whole tree below that point, so usage
 * and picocli's suggestions stay as they were.
 */
final class CommandTree {
  private static final Map<Class<?>, List<Class<?>>> SUBCOMMANDS = Map.ofEntries(
      Map.entry(KeywardenCommand.class, List.of(ServerCommand.class, StatusCommand.class, OperatorCommand.class,
          TokenCommand.class, PolicyCommand.class, TransitCommand.class, PkiCommand.class, SshCommand.class,
          JwtCommand.class, AuditCommand.class, LoginCommand.class, AuthCommand.class, CertRoleCommand.class,
          CommandLine.HelpCommand.class)),
      Map.entry(OperatorCommand.class, List.of(OperatorCommand.Init.class, OperatorCommand.Unseal.class,
          OperatorCommand.Seal.class, OperatorCommand.Rekey.class, OperatorCommand.GenerateRoot.class)),
      Map.entry(TokenCommand.class, List.of(TokenCommand.Create.class, TokenCommand.Lookup.class,
          TokenCommand.Revoke.class)),
      Map.entry(PolicyCommand.class, List.of(PolicyCommand.Write.class, PolicyCommand.Read.class,
          PolicyCommand.ListPolicies.class, PolicyCommand.Delete.class)),
      Map.entry(TransitCommand.class, List.of(TransitCommand.CreateKey.class, TransitCommand.Key.class,
          TransitCommand.ListKeys.class, TransitCommand.Rotate.class, TransitCommand.Config.class,
          TransitCommand.Trim.class, TransitCommand.Delete.class, TransitCommand.Encrypt.class,
          TransitCommand.Decrypt.class, TransitCommand.Rewrap.class, TransitCommand.DataKey.class,
          TransitCommand.Sign.class, TransitCommand.Verify.class, TransitCommand.Hmac.class,
          TransitCommand.VerifyHmac.class)),
      Map.entry(PkiCommand.class, List.of(PkiCommand.GenerateRoot.class, PkiCommand.GenerateIntermediate.class,
          PkiCommand.SetSignedIntermediate.class, PkiCommand.RotateIssuer.class, PkiCommand.DeleteIssuer.class,
          PkiCommand.Issuers.class, PkiCommand.GetIssuer.class, PkiCommand.CreateRole.class, PkiCommand.GetRole.class,
          PkiCommand.Roles.class, PkiCommand.DeleteRole.class, PkiCommand.SignCsr.class, PkiCommand.Issue.class,
          PkiCommand.Revoke.class, PkiCommand.Cert.class, PkiCommand.ListCerts.class, PkiCommand.Revoked.class,
          PkiCommand.Tidy.class)),
      Map.entry(SshCommand.class, List.of(SshCommand.CreateCa.class, SshCommand.RotateCa.class, SshCommand.Cas.class,
          SshCommand.Ca.class, SshCommand.SetDefault.class, SshCommand.CaKeys.class, SshCommand.Krl.class,
          SshCommand.CreateRole.class, SshCommand.Role.class, SshCommand.Roles.class, SshCommand.DeleteRole.class,
          SshCommand.Sign.class, SshCommand.Issue.class, SshCommand.Revoke.class, SshCommand.RevokeKeyId.class,
          SshCommand.Cert.class, SshCommand.ListCerts.class, SshCommand.Tidy.class)),
      Map.entry(JwtCommand.class, List.of(JwtCommand.CreateKey.class, JwtCommand.UpdateKey.class, JwtCommand.Key.class,
          JwtCommand.Keys.class, JwtCommand.DeleteKey.class, JwtCommand.Rotate.class, JwtCommand.RevokeVersion.class,
          JwtCommand.CreateRole.class, JwtCommand.Role.class, JwtCommand.Roles.class, JwtCommand.DeleteRole.class,
          JwtCommand.Sign.class, JwtCommand.Verify.class)),
      Map.entry(AuditCommand.class, List.of(AuditCommand.Enable.class, AuditCommand.Disable.class,
          AuditCommand.ListDevices.class, AuditCommand.Hash.class, AuditCommand.Reopen.class,
          AuditCommand.PublicKeyCmd.class, AuditCommand.Verify.class)),
      Map.entry(AuditCommand.Enable.class, List.of(AuditCommand.EnableFile.class, AuditCommand.EnableSocket.class)),
      Map.entry(LoginCommand.class, List.of(LoginJwtCommand.class, LoginCommand.Cert.class)),
      Map.entry(AuthCommand.class, List.of(AuthJwtCommand.class)),
      Map.entry(AuthJwtCommand.class, List.of(AuthJwtCommand.WriteRole.class, AuthJwtCommand.ReadRole.class,
          AuthJwtCommand.ListRoles.class, AuthJwtCommand.DeleteRole.class)),
      Map.entry(CertRoleCommand.class, List.of(CertRoleCommand.Write.class, CertRoleCommand.Read.class,
          CertRoleCommand.ListRoles.class, CertRoleCommand.Delete.class)));

  /** A request for the version alone needs no subcommands. */
  private static final Set<String> VERSION = Set.of("-V", "--version");

  private CommandTree() {}

  /** The command line {@code args} run: the commands on their path, or everything below where the path ends. */
  static CommandLine forArgs(Object root, String[] args) {
    CommandLine cli = new CommandLine(root);
    addPath(cli, root.getClass(), args, 0);
    return cli;
  }

  /** The whole tree: every command. */
  static CommandLine full(Object root) {
    CommandLine cli = new CommandLine(root);
    addAll(cli, root.getClass());
    return cli;
  }

  /** The commands grouped under {@code type}, in the order usage lists them; empty for a command that runs. */
  static List<Class<?>> subcommands(Class<?> type) {
    return SUBCOMMANDS.getOrDefault(type, List.of());
  }

  private static void addPath(CommandLine parent, Class<?> type, String[] args, int next) {
    List<Class<?>> children = subcommands(type);
    if (children.isEmpty()) {
      return;
    }
    if (next < args.length) {
      Class<?> named = named(children, args[next]);
      if (named != null) {
        CommandLine sub = command(named);
        parent.addSubcommand(sub);
        addPath(sub, named, args, next + 1);
        return;
      }
      if (next == args.length - 1 && VERSION.contains(args[next])) {
        return;
      }
    }
    addAll(parent, type);
  }

  private static void addAll(CommandLine parent, Class<?> type) {
    for (Class<?> child : subcommands(type)) {
      CommandLine sub = command(child);
      parent.addSubcommand(sub);
      addAll(sub, child);
    }
  }

  /**
   * A command's line. A command taking values that may start with '-' (a JWT kid is base64url: 1 in 64 does) takes an
   * unknown '-…' argument as a value, not as an unknown option. A client command gets its model here.
   */
  private static CommandLine command(Class<?> type) {
    CommandLine cli = new CommandLine(type);
    if (cli.getCommand() instanceof ClientCommand client) {
      client.spec = cli.getCommandSpec();
    }
    if (DashedValues.class.isAssignableFrom(type)) {
      cli.setUnmatchedOptionsArePositionalParams(true);
    }
    return cli;
  }

  /** Marks a command whose positional values may start with '-'. */
  interface DashedValues {}

  /** The subcommand {@code arg} names; null for anything else and for `help`, which looks among its siblings. */
  private static Class<?> named(List<Class<?>> children, String arg) {
    for (Class<?> child : children) {
      Command command = child.getAnnotation(Command.class);
      if (child != CommandLine.HelpCommand.class
          && (command.name().equals(arg) || Arrays.asList(command.aliases()).contains(arg))) {
        return child;
      }
    }
    return null;
  }
}
