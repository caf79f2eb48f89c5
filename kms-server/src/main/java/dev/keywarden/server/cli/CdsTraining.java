package dev.keywarden.server.cli;

import com.google.protobuf.Timestamp;
import dev.keywarden.api.v1.ClusterNode;
import dev.keywarden.api.v1.EncryptRequest;
import dev.keywarden.api.v1.EncryptResponse;
import dev.keywarden.api.v1.EncryptResult;
import dev.keywarden.api.v1.GetStatusRequest;
import dev.keywarden.api.v1.GetStatusResponse;
import dev.keywarden.api.v1.PkiServiceGrpc;
import dev.keywarden.api.v1.SignCsrRequest;
import dev.keywarden.api.v1.SignCsrResponse;
import dev.keywarden.api.v1.SystemServiceGrpc;
import dev.keywarden.api.v1.TransitServiceGrpc;
import dev.keywarden.server.Main;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.okhttp.OkHttpServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * The workload whose classes `make build` puts in the client's class-data-sharing archive (`bin/keywarden` maps it
 * into every client call): the commands people run most, each as the CLI runs it, against a stand-in server on
 * loopback that answers every call with a fixed reply, then the same commands against a closed port. Not a command;
 * it runs as {@code java -XX:DumpLoadedClassList=LIST -cp keywarden.jar dev.keywarden.server.cli.CdsTraining}.
 */
public final class CdsTraining {
  private CdsTraining() {}

  public static void main(String[] args) throws Exception {
    // The launcher's class, which the training cannot run (it exits): loaded, so the archive holds it too.
    Main.class.getName();
    Server server = OkHttpServerBuilder.forPort(0, InsecureServerCredentials.create())
        .addService(new StandInSystem()).addService(new StandInTransit()).addService(new StandInPki())
        .build().start();
    Path work = Files.createTempDirectory("keywarden-cds-training-");
    PrintStream out = System.out;
    PrintStream err = System.err;
    try {
      Path input = Files.writeString(work.resolve("input"), "training");
      Path csr = Files.writeString(work.resolve("csr.pem"), "-----BEGIN CERTIFICATE REQUEST-----\n");
      System.setOut(new PrintStream(OutputStream.nullOutputStream()));
      System.setErr(new PrintStream(OutputStream.nullOutputStream()));
      for (String addr : new String[] {"127.0.0.1:" + server.getPort(), "127.0.0.1:1"}) {
        KeywardenCommand.run(new String[] {"--version"});
        KeywardenCommand.run(new String[] {"status", "--addr", addr});
        KeywardenCommand.run(new String[] {"status", "--addr", addr, "--format", "json"});
        KeywardenCommand.run(new String[] {"transit", "encrypt", "training", "--in", input.toString(),
            "--addr", addr, "--token", "kwt_training"});
        KeywardenCommand.run(new String[] {"pki", "sign-csr", "training", "--csr", csr.toString(),
            "--addr", addr, "--token", "kwt_training"});
      }
    } finally {
      System.setOut(out);
      System.setErr(err);
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      for (String name : new String[] {"input", "csr.pem"}) {
        Files.deleteIfExists(work.resolve(name));
      }
      Files.deleteIfExists(work);
    }
  }

  private static final class StandInSystem extends SystemServiceGrpc.SystemServiceImplBase {
    @Override
    public void getStatus(GetStatusRequest request, StreamObserver<GetStatusResponse> reply) {
      // As a real server answers: with the servers sharing its storage, whose heartbeat times `status` prints.
      reply.onNext(GetStatusResponse.newBuilder().setInitialized(true).setVersion("training")
          .addNodes(ClusterNode.newBuilder().setNode("training:1").setThisNode(true).setVersion("training")
              .setLastHeartbeat(Timestamp.newBuilder().setSeconds(1_790_000_000L).setNanos(105_000_000)))
          .build());
      reply.onCompleted();
    }
  }

  private static final class StandInTransit extends TransitServiceGrpc.TransitServiceImplBase {
    @Override
    public void encrypt(EncryptRequest request, StreamObserver<EncryptResponse> reply) {
      reply.onNext(EncryptResponse.newBuilder().addResults(EncryptResult.newBuilder().setCiphertext("kw:v1:AAAA"))
          .build());
      reply.onCompleted();
    }
  }

  private static final class StandInPki extends PkiServiceGrpc.PkiServiceImplBase {
    @Override
    public void signCsr(SignCsrRequest request, StreamObserver<SignCsrResponse> reply) {
      reply.onNext(SignCsrResponse.newBuilder().setCertificatePem("-----BEGIN CERTIFICATE-----\n").build());
      reply.onCompleted();
    }
  }
}
