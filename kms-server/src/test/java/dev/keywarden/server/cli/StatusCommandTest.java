package dev.keywarden.server.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.protobuf.Timestamp;
import com.google.protobuf.util.Timestamps;
import org.junit.jupiter.api.Test;

class StatusCommandTest {
  @Test
  void heartbeatTimesReadAsProtobufWritesThem() {
    long[][] times = {{0, 0}, {1_790_000_000L, 0}, {1_790_000_000L, 105_000_000}, {1_790_000_000L, 105_001_000},
        {1_790_000_000L, 105_001_001}, {1_790_000_059L, 1}, {-62_135_596_800L, 0}, {253_402_300_799L, 999_999_999}};
    for (long[] t : times) {
      Timestamp time = Timestamp.newBuilder().setSeconds(t[0]).setNanos((int) t[1]).build();
      assertEquals(Timestamps.toString(time), StatusCommand.utc(time));
    }
  }
}
