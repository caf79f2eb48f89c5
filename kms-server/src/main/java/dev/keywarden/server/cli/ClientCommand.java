package dev.keywarden.server.cli;

import com.google.protobuf.MessageOrBuilder;
import com.google.protobuf.util.JsonFormat;
import dev.keywarden.api.v1.PolicyServiceGrpc;
import dev.keywarden.api.v1.SystemServiceGrpc;
import dev.keywarden.api.v1.TokenServiceGrpc;
import dev.keywarden.api.v1.TransitServiceGrpc;
import io.grpc.ManagedChannel;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Model.CommandSpec;

/**
 * Base of client commands: a channel, stubs with the token, and output in text or JSON. The shared options are
 * inherited from {@link ClientOptions}.
 */
abstract class ClientCommand extends ClientOptions implements Callable<Integer> {
  private static final long DEADLINE_SECONDS = 60;

  /**
   * This command's picocli model, set by {@link CommandTree} when it makes the command's line (not through picocli's
   * {@code @Spec}, one more annotation type, so one more run-time proxy class, for every client call).
   */
  CommandSpec spec;

  private ManagedChannel channel;

  @Override
  public final Integer call() throws Exception {
    channel = openChannel();
    try {
      return run();
    } finally {
      ClientOptions.close(channel);
    }
  }

  abstract Integer run() throws Exception;

  SystemServiceGrpc.SystemServiceBlockingStub system() {
    return SystemServiceGrpc.newBlockingStub(channel).withCallCredentials(credentials())
        .withDeadlineAfter(DEADLINE_SECONDS, TimeUnit.SECONDS);
  }

  TokenServiceGrpc.TokenServiceBlockingStub tokens() {
    return TokenServiceGrpc.newBlockingStub(channel).withCallCredentials(credentials())
        .withDeadlineAfter(DEADLINE_SECONDS, TimeUnit.SECONDS);
  }

  TransitServiceGrpc.TransitServiceBlockingStub transit() {
    return TransitServiceGrpc.newBlockingStub(channel).withCallCredentials(credentials())
        .withDeadlineAfter(DEADLINE_SECONDS, TimeUnit.SECONDS);
  }

  dev.keywarden.api.v1.PkiServiceGrpc.PkiServiceBlockingStub pki() { return dev.keywarden.api.v1.PkiServiceGrpc.newBlockingStub(channel).withCallCredentials(credentials()).withDeadlineAfter(DEADLINE_SECONDS, TimeUnit.SECONDS); }

  dev.keywarden.api.v1.JwtAuthServiceGrpc.JwtAuthServiceBlockingStub jwtAuth() {
    return dev.keywarden.api.v1.JwtAuthServiceGrpc.newBlockingStub(channel).withCallCredentials(credentials())
        .withDeadlineAfter(DEADLINE_SECONDS, TimeUnit.SECONDS);
  }

  dev.keywarden.api.v1.CertAuthServiceGrpc.CertAuthServiceBlockingStub certAuth() {
    return dev.keywarden.api.v1.CertAuthServiceGrpc.newBlockingStub(channel).withCallCredentials(credentials())
        .withDeadlineAfter(DEADLINE_SECONDS, TimeUnit.SECONDS);
  }

  dev.keywarden.api.v1.SshServiceGrpc.SshServiceBlockingStub ssh() {
    return dev.keywarden.api.v1.SshServiceGrpc.newBlockingStub(channel).withCallCredentials(credentials())
        .withDeadlineAfter(DEADLINE_SECONDS, TimeUnit.SECONDS);
  }

  dev.keywarden.api.v1.JwtServiceGrpc.JwtServiceBlockingStub jwt() {
    return dev.keywarden.api.v1.JwtServiceGrpc.newBlockingStub(channel).withCallCredentials(credentials())
        .withDeadlineAfter(DEADLINE_SECONDS, TimeUnit.SECONDS);
  }

  dev.keywarden.api.v1.AuditServiceGrpc.AuditServiceBlockingStub audit() {
    return dev.keywarden.api.v1.AuditServiceGrpc.newBlockingStub(channel).withCallCredentials(credentials())
        .withDeadlineAfter(DEADLINE_SECONDS, TimeUnit.SECONDS);
  }

  PolicyServiceGrpc.PolicyServiceBlockingStub policies() {
    return PolicyServiceGrpc.newBlockingStub(channel).withCallCredentials(credentials())
        .withDeadlineAfter(DEADLINE_SECONDS, TimeUnit.SECONDS);
  }

  boolean json() {
    return format == OutputFormat.json;
  }

  PrintWriter out() {
    return spec.commandLine().getOut();
  }

  PrintWriter err() {
    return spec.commandLine().getErr();
  }

  /** Prints a response as one JSON object (every field, defaults included). */
  void printJson(MessageOrBuilder message) throws Exception {
    out().println(JsonFormat.printer().includingDefaultValueFields().preservingProtoFieldNames().print(message));
    out().flush();
  }

  /** Prints text lines, or the message as JSON with --format json. */
  void print(MessageOrBuilder message, String text) throws Exception {
    if (json()) {
      printJson(message);
    } else {
      out().println(text);
      out().flush();
    }
  }

  /** One page of a listing as text: an entry a line, then "next: --after X" when more pages follow. */
  static String pageText(java.util.List<String> entries, String nextAfter) {
    String text = String.join("\n", entries);
    return nextAfter.isEmpty() ? text : text + (text.isEmpty() ? "" : "\n") + "next: --after " + nextAfter;
  }
}
