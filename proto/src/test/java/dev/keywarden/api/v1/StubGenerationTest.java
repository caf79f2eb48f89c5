package dev.keywarden.api.v1;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Other languages' stubs come from the protos as they are: Debian's protoc (and its protoc-gen-go) with one include
 * path and an output directory per language, no per-plugin options ({@code M} mappings, {@code go_opt} …).
 */
class StubGenerationTest {
  private static final Path PROTO_ROOT = ExternalTool.moduleDir().resolve("src/main/proto");

  static List<Path> protoFiles() throws IOException {
    try (Stream<Path> files = Files.walk(PROTO_ROOT)) {
      return files.filter(f -> f.toString().endsWith(".proto")).sorted().toList();
    }
  }

  @Test
  void protocGeneratesCppPythonRubyPhpAndGoStubsWithNoPluginOptions(@TempDir Path out) throws Exception {
    ExternalTool.require("protoc", "make deps installs Debian's protobuf-compiler");
    ExternalTool.require("protoc-gen-go", "make deps installs Debian's protoc-gen-go");
    List<String> command = new ArrayList<>(List.of("protoc", "-I", PROTO_ROOT.toString()));
    for (String lang : List.of("cpp", "python", "ruby", "php", "go")) {
      Files.createDirectories(out.resolve(lang));
      command.add("--" + lang + "_out=" + out.resolve(lang));
    }
    List<Path> protos = protoFiles();
    protos.forEach(p -> command.add(PROTO_ROOT.relativize(p).toString()));

    ExternalTool.Run run = ExternalTool.run(PROTO_ROOT, command);

    assertEquals(0, run.exit(), () -> String.join(" ", command) + "\n" + run.output());
    String goDir = "go/github.com/keywarden/keywarden/gen/go/keywarden/v1/";
    for (Path proto : protos) {
      String base = proto.getFileName().toString().replace(".proto", "");
      String stem = "keywarden/v1/" + base;
      for (String generated : List.of("cpp/" + stem + ".pb.h", "cpp/" + stem + ".pb.cc", "python/" + stem + "_pb2.py",
          "ruby/" + stem + "_pb.rb", "php/GPBMetadata/Keywarden/V1/" + camel(base) + ".php",
          goDir + base + ".pb.go")) {
        assertTrue(Files.isRegularFile(out.resolve(generated)), generated + " was not generated");
      }
    }
    assertTrue(Files.readString(out.resolve(goDir + "transit.pb.go"), StandardCharsets.UTF_8)
        .contains("package keywardenv1"), "the Go package name comes from go_package");
    assertTrue(Files.isRegularFile(out.resolve("php/Keywarden/V1/EncryptRequest.php")),
        "PHP classes go under php_namespace Keywarden\\V1");
    assertTrue(Files.readString(out.resolve("ruby/keywarden/v1/transit_pb.rb"), StandardCharsets.UTF_8)
        .contains("module Keywarden"), "Ruby classes go under ruby_package Keywarden::V1");
  }

  @Test
  void everyProtoDeclaresTheFileOptionsOfEveryLanguage() throws Exception {
    List<String> missing = new ArrayList<>();
    for (Path proto : protoFiles()) {
      String text = Files.readString(proto, StandardCharsets.UTF_8);
      for (String option : List.of("option java_package = \"dev.keywarden.api.v1\";",
          "option java_multiple_files = true;", "option csharp_namespace = \"Keywarden.V1\";",
          "option go_package = \"github.com/keywarden/keywarden/gen/go/keywarden/v1;keywardenv1\";",
          "option objc_class_prefix = \"KWX\";", "option php_namespace = \"Keywarden\\\\V1\";",
          "option ruby_package = \"Keywarden::V1\";")) {
        if (!text.contains(option)) {
          missing.add(proto.getFileName() + ": " + option);
        }
      }
    }
    assertEquals(List.of(), missing);
  }

  private static String camel(String snake) {
    StringBuilder b = new StringBuilder();
    for (String part : snake.split("_")) {
      b.append(Character.toUpperCase(part.charAt(0))).append(part.substring(1));
    }
    return b.toString();
  }
}
