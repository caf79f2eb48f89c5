-- The whole persistent state: versioned key/value entries. Values are public or already wrapped by the KEK.
-- COLLATE "C" orders keys by their UTF-8 bytes (= code points), which list()'s range scan relies on.
CREATE TABLE kv (
  key     TEXT COLLATE "C" NOT NULL PRIMARY KEY,
  value   BYTEA            NOT NULL,
  version BIGINT           NOT NULL CHECK (version >= 1)
);
