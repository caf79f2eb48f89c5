package dev.keywarden.server.cli;

import dev.keywarden.api.v1.*;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * `keywarden operator …`: the unseal ceremony and its relatives.
 * Its subcommands are listed in {@link CommandTree}.
 */
@Command(name = "operator", description = "Init, unseal, seal, rekey and generate-root.")
final class OperatorCommand {

  /** The shares given on the command line, or one read from the operator when none were. */
  static List<String> sharesOrPrompt(List<String> given, String prompt) throws java.io.IOException {
    return given.isEmpty() ? List.of(new String(SecretInput.read(prompt))) : given;
  }

  @Command(name = "init", description = "Generate the KEK in the HSM and split a new unseal key into shares. "
      + "Prints the shares and a root token once.")
  static final class Init extends ClientCommand {
    @Option(names = "--shares", required = true, description = "N: how many shares to make (1..255).")
    int shares;

    @Option(names = "--threshold", required = true, description = "K: how many shares unseal (1..N).")
    int threshold;

    @Option(names = "--hsm-pin-file", description = "File whose first line is the HSM token's user PIN. "
        + "Without it the PIN is read from standard input (prompted without echo on a terminal).")
    Path pinFile;

    @Option(names = "--allow-single-share", description = "Allow threshold 1 with more than one share.")
    boolean allowSingleShare;

    @Override
    Integer run() throws Exception {
      GetStatusResponse status = system().getStatus(GetStatusRequest.getDefaultInstance());
      InitializeRequest.Builder request = InitializeRequest.newBuilder().setShares(shares).setThreshold(threshold)
          .setAllowSingleShareThreshold(allowSingleShare);
      if (status.getInitialized()) {
        err().println("Error: already initialized: use the existing shares to unseal (ALREADY_EXISTS)");
        return KeywardenCommand.EXIT_ERROR;
      }
      if (!"software".equals(status.getHsmKind())) {
        char[] pin = pinFile != null ? SecretInput.fromFile(pinFile)
            : SecretInput.read("HSM user PIN for token '" + status.getHsmToken() + "': ");
        request.setHsmPin(new String(pin));
        Arrays.fill(pin, '\0');
      }
      InitializeResponse r = system().initialize(request.build());
      if (json()) {
        printJson(r);
        return 0;
      }
      StringBuilder text = new StringBuilder();
      for (int i = 0; i < r.getSharesCount(); i++) {
        text.append("Unseal share ").append(i + 1).append(": ").append(r.getShares(i)).append('\n');
      }
      text.append("\nRoot token: ").append(r.getRootToken()).append("\n\n")
          .append("KEK '").append(r.getKekLabel()).append("' was generated inside the HSM and cannot leave it.\n")
          .append("Hand one share to each operator; ").append(r.getThreshold())
          .append(" of them unseal the server. They are not shown again.\n")
          .append("The server is sealed: run 'keywarden operator unseal' ").append(r.getThreshold()).append(" times.");
      print(r, text.toString());
      return 0;
    }
  }

  @Command(name = "unseal", description = "Submit one unseal share (prompted without echo when left out).")
  static final class Unseal extends ClientCommand {
    @Parameters(arity = "0..1", paramLabel = "SHARE", description = "The share; prompted for when left out.")
    String share;

    @Option(names = "--reset", description = "Discard the shares submitted so far.")
    boolean reset;

    @Override
    Integer run() throws Exception {
      UnsealRequest.Builder request = UnsealRequest.newBuilder().setReset(reset);
      if (!reset) {
        request.setShare(share != null ? share : new String(SecretInput.read("Unseal share: ")));
      }
      UnsealResponse r = system().unseal(request.build());
      print(r, r.getSealed()
          ? "Sealed: true\nUnseal progress: " + r.getProgress() + "/" + r.getThreshold()
          : "Sealed: false\nThe server is unsealed.");
      return 0;
    }
  }

  @Command(name = "seal", description = "Seal the server: zeroize cached keys and log out of the HSM.")
  static final class Seal extends ClientCommand {
    @picocli.CommandLine.Option(names = "--all", description = "Seal every server sharing this one's storage (each"
        + " seals itself as it hears it; one unsealed afterwards stays unsealed).")
    boolean all;

    @Override
    Integer run() throws Exception {
      SealResponse r = system().seal(SealRequest.newBuilder().setAll(all).build());
      print(r, all ? "Sealed, and every server sharing its storage was told to seal." : "Sealed.");
      return 0;
    }
  }

  @Command(name = "rekey", description = "Replace the unseal key and its shares; needs K current shares. "
      + "Starts a rekey (with --shares/--threshold) unless one is in progress, then submits the SHAREs given "
      + "(or one prompted for). The old shares work until the last share is in.")
  static final class Rekey extends ClientCommand {
    @Option(names = "--shares", description = "N of the new split.")
    Integer shares;

    @Option(names = "--threshold", description = "K of the new split.")
    Integer threshold;

    @Option(names = "--allow-single-share", description = "Allow threshold 1 with more than one share.")
    boolean allowSingleShare;

    @Option(names = "--nonce", description = "Join the rekey in progress with this nonce.")
    String nonce;

    @Option(names = "--cancel", description = "Cancel the rekey in progress; the current shares stay valid.")
    boolean cancel;

    @Parameters(arity = "0..*", paramLabel = "SHARE", description = "Current unseal shares.")
    List<String> shareArgs = new ArrayList<>();

    @Override
    Integer run() throws Exception {
      if (cancel) {
        print(system().cancelRekey(CancelRekeyRequest.getDefaultInstance()), "Rekey cancelled.");
        return 0;
      }
      String n = nonce;
      int required;
      if (n == null) {
        if (shares == null || threshold == null) {
          err().println("Error: give --shares and --threshold to start a rekey, or --nonce to join one");
          return KeywardenCommand.EXIT_ERROR;
        }
        StartRekeyResponse started = system().startRekey(StartRekeyRequest.newBuilder().setShares(shares)
            .setThreshold(threshold).setAllowSingleShareThreshold(allowSingleShare).build());
        n = started.getNonce();
        required = started.getRequired();
        if (!json()) {
          out().println("Rekey started, nonce " + n + ": " + required + " current shares needed.");
        }
      } else {
        required = 0;
      }
      SubmitRekeyShareResponse last = null;
      for (String share : sharesOrPrompt(shareArgs, "Current unseal share: ")) {
        last = system().submitRekeyShare(SubmitRekeyShareRequest.newBuilder().setNonce(n).setShare(share).build());
        if (last.getComplete()) {
          break;
        }
      }
      if (json()) {
        printJson(last);
        return 0;
      }
      if (!last.getComplete()) {
        out().println("Rekey progress: " + last.getProgress() + "/" + last.getRequired() + " (nonce " + n + ")");
        return 0;
      }
      StringBuilder text = new StringBuilder("Rekey complete. The old shares no longer work.\n");
      for (int i = 0; i < last.getSharesCount(); i++) {
        text.append("New unseal share ").append(i + 1).append(": ").append(last.getShares(i)).append('\n');
      }
      text.append("Threshold: ").append(last.getThreshold());
      out().println(text);
      return 0;
    }
  }

  @Command(name = "generate-root", description = "Make a new root token with K unseal shares (no token needed). "
      + "Starts one unless --nonce is given, then submits the SHAREs given (or one prompted for).")
  static final class GenerateRoot extends ClientCommand {
    @Option(names = "--nonce", description = "Join the generate-root in progress with this nonce.")
    String nonce;

    @Option(names = "--cancel", description = "Cancel the generate-root in progress.")
    boolean cancel;

    @Parameters(arity = "0..*", paramLabel = "SHARE", description = "Unseal shares.")
    List<String> shareArgs = new ArrayList<>();

    @Override
    Integer run() throws Exception {
      if (cancel) {
        print(system().cancelGenerateRoot(CancelGenerateRootRequest.getDefaultInstance()),
            "Generate-root cancelled.");
        return 0;
      }
      String n = nonce;
      if (n == null) {
        StartGenerateRootResponse started = system().startGenerateRoot(StartGenerateRootRequest.getDefaultInstance());
        n = started.getNonce();
        if (!json()) {
          out().println("Generate-root started, nonce " + n + ": " + started.getRequired() + " shares needed.");
        }
      }
      SubmitGenerateRootShareResponse last = null;
      for (String share : sharesOrPrompt(shareArgs, "Unseal share: ")) {
        last = system().submitGenerateRootShare(SubmitGenerateRootShareRequest.newBuilder().setNonce(n)
            .setShare(share).build());
        if (last.getComplete()) {
          break;
        }
      }
      print(last, last.getComplete() ? "Root token: " + last.getRootToken()
          : "Generate-root progress: " + last.getProgress() + "/" + last.getRequired() + " (nonce " + n + ")");
      return 0;
    }
  }
}
