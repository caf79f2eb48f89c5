-- The whole persistent state: versioned key/value entries. Values are public or already wrapped by the KEK.
CREATE TABLE kv (
  key     TEXT    NOT NULL PRIMARY KEY,
  value   BLOB    NOT NULL,
  version INTEGER NOT NULL CHECK (version >= 1)
);
