package dev.keywarden.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class TicketTest {
  @Test
  void aResponseNoDeviceWroteIsReportedLostOnceWhenTheLastDeviceAnswers() {
    AtomicInteger lost = new AtomicInteger();
    Ticket t = new Ticket(List.of("a", "b"), lost::incrementAndGet);
    t.done("a", "failing");
    assertEquals(0, lost.get(), "b has not answered yet");
    t.done("b", "stuck");
    t.done("b", "stuck");
    assertEquals(1, lost.get());
    assertEquals(List.of("a: failing", "b: stuck"), t.failures());
  }

  @Test
  void aResponseOneDeviceWroteIsNotLost() {
    AtomicInteger lost = new AtomicInteger();
    Ticket t = new Ticket(List.of("a", "b"), lost::incrementAndGet);
    t.done("a", null);
    t.done("b", "failing");
    assertEquals(0, lost.get());
  }

  @Test
  void anAbandonedRequestIsNotClaimedByALateWriter() {
    Ticket t = new Ticket(List.of("a"));
    assertFalse(t.await(System.nanoTime(), true));
    assertFalse(t.claim());
    t.done("a", null);
    assertTrue(t.unanswered().contains("a"), "an abandoned ticket takes no outcome");
  }
}
