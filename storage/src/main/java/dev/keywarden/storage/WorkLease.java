package dev.keywarden.storage;

/**
 * The right to run periodic work (rotation, CRL refresh, tidy, key lifecycles) that must run on one node of those
 * sharing a store: {@link Storage#lease}. On SQLite the single node always holds it; on PostgreSQL it is an advisory
 * lock on a connection of its own, so it goes when the node dies or loses the database, and another node that wants
 * it takes it within seconds.
 */
public interface WorkLease extends AutoCloseable {
  /** Whether this node holds the lease now (a volatile read: ask before each run). */
  boolean held();

  /** Whether this node should seek the lease (true while unsealed); false gives it up at once. */
  void want(boolean want);

  @Override
  void close();

  /** The lease of a store only one node uses: always held. */
  WorkLease SOLE = new WorkLease() {
    @Override
    public boolean held() {
      return true;
    }

    @Override
    public void want(boolean want) {}

    @Override
    public void close() {}
  };
}
