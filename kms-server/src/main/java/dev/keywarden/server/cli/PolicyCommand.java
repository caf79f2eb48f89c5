package dev.keywarden.server.cli;

import dev.keywarden.api.v1.*;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/**
 * `keywarden policy …`.
 * Its subcommands are listed in {@link CommandTree}.
 */
@Command(name = "policy", description = "Write, read, list and delete policies.")
final class PolicyCommand {

  @Command(name = "write", description = "Create or replace a policy from a JSON file ('-' for standard input).")
  static final class Write extends ClientCommand {
    @Parameters(index = "0", paramLabel = "NAME")
    String name;

    @Parameters(index = "1", paramLabel = "FILE")
    String file;

    @Override
    Integer run() throws Exception {
      String document = "-".equals(file) ? new String(System.in.readAllBytes(), StandardCharsets.UTF_8) : read(file);
      WritePolicyResponse r = policies().writePolicy(WritePolicyRequest.newBuilder().setName(name)
          .setDocument(document).build());
      print(r, "Policy '" + name + "' written.");
      return 0;
    }

    private static String read(String file) throws IOException {
      Path path = Path.of(file);
      if (!Files.isReadable(path)) {
        throw new IOException("cannot read policy file " + file);
      }
      return Files.readString(path, StandardCharsets.UTF_8);
    }
  }

  @Command(name = "read", description = "Print a policy's document.")
  static final class Read extends ClientCommand {
    @Parameters(index = "0", paramLabel = "NAME")
    String name;

    @Override
    Integer run() throws Exception {
      ReadPolicyResponse r = policies().readPolicy(ReadPolicyRequest.newBuilder().setName(name).build());
      print(r, r.getDocument());
      return 0;
    }
  }

  @Command(name = "list", description = "List policy names.")
  static final class ListPolicies extends ClientCommand {
    @Mixin
    PageOptions page;

    @Override
    Integer run() throws Exception {
      ListPoliciesResponse r = policies().listPolicies(ListPoliciesRequest.newBuilder()
          .setLimit(page.limit).setAfter(page.after).build());
      print(r, pageText(r.getNamesList(), r.getNextAfter()));
      return 0;
    }
  }

  @Command(name = "delete", description = "Delete a policy.")
  static final class Delete extends ClientCommand {
    @Parameters(index = "0", paramLabel = "NAME")
    String name;

    @Override
    Integer run() throws Exception {
      DeletePolicyResponse r = policies().deletePolicy(DeletePolicyRequest.newBuilder().setName(name).build());
      print(r, "Policy '" + name + "' deleted.");
      return 0;
    }
  }
}
