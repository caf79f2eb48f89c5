package dev.keywarden.server.cli;

import java.io.BufferedReader;
import java.io.Console;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Reads secrets (shares, PINs) without echo from a terminal, or one per line from standard input when piped. */
final class SecretInput {
  private static BufferedReader stdin;

  private SecretInput() {}

  /** One secret: prompted without echo on a terminal, else the next line of standard input. */
  static char[] read(String prompt) throws IOException {
    Console console = System.console();
    if (console != null) {
      char[] value = console.readPassword("%s", prompt);
      if (value == null) {
        throw new IOException("no input");
      }
      return value;
    }
    if (stdin == null) {
      stdin = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    }
    String line = stdin.readLine();
    if (line == null) {
      throw new IOException(prompt.replace(":", "").trim() + ": standard input ended; nothing was read");
    }
    return line.trim().toCharArray();
  }

  /** A PIN from a file (first line), trimmed. */
  static char[] fromFile(Path file) throws IOException {
    if (!Files.isReadable(file)) {
      throw new IOException("cannot read " + file);
    }
    String content = Files.readString(file, StandardCharsets.UTF_8);
    int newline = content.indexOf('\n');
    return (newline < 0 ? content : content.substring(0, newline)).trim().toCharArray();
  }
}
