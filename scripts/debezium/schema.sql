-- Tables and snapshot rows for scripts/debezium-fixtures.sh (database dbz_fixtures, recreated per run).
-- all_types: one column per Postgres type DuckHouse maps; c_toast / c_toast_bytes / c_toast_ints are stored out of line
-- (STORAGE EXTERNAL, the row > 2 kB) so an UPDATE that leaves them alone sends "unchanged TOAST" through pgoutput.
CREATE TABLE all_types (
  id            int4 PRIMARY KEY,
  c_int8        int8,
  c_int2        int2,
  c_numeric     numeric(10,2),
  c_numeric_any numeric,
  c_real        real,
  c_double      double precision,
  c_bool        boolean,
  c_text        text,
  c_varchar     varchar(64),
  c_toast       text,
  c_toast_bytes bytea,
  c_toast_ints  int4[],
  c_date        date,
  c_time        time,
  c_ts          timestamp,
  c_tstz        timestamptz,
  c_jsonb       jsonb,
  c_uuid        uuid,
  c_bytea       bytea,
  c_int_arr     int4[],
  c_text_arr    text[]
);
ALTER TABLE all_types ALTER COLUMN c_toast SET STORAGE EXTERNAL;
ALTER TABLE all_types ALTER COLUMN c_toast_bytes SET STORAGE EXTERNAL;
ALTER TABLE all_types ALTER COLUMN c_toast_ints SET STORAGE EXTERNAL;

-- full_identity: REPLICA IDENTITY FULL, so updates and deletes carry the whole old row.
CREATE TABLE full_identity (
  id         int4 PRIMARY KEY,
  name       text,
  big_text   text,
  amount     numeric(12,3),
  updated_at timestamptz
);
ALTER TABLE full_identity ALTER COLUMN big_text SET STORAGE EXTERNAL;
ALTER TABLE full_identity REPLICA IDENTITY FULL;

-- Snapshot rows (op "r").
INSERT INTO all_types VALUES
  (1, 9007199254740993, 32767, 12345678.91, 3.14159265358979323846264338327950288419, 1.5, 2.718281828459045, true,
   'hello', 'varchar ü', repeat('toast-1 ', 300), decode(repeat('00ff10', 700), 'hex'), ARRAY(SELECT generate_series(1, 600)),
   '2024-02-29', '13:45:56.123456', '2024-02-29 13:45:56.123456', '2024-02-29 13:45:56.123456+02',
   '{"a": 1, "b": [true, null], "c": "x"}', '8e4c2a3e-7d1f-4b8e-9a6b-0c1d2e3f4a5b', '\x00ff7f80',
   '{1,2,NULL,-4}', '{"a","b c",NULL,"d\"e"}'),
  (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (3, -9223372036854775808, -32768, -0.01, -123456789012345678901234567890.123456789, 'NaN', '-Infinity', false,
   '', '', repeat('toast-3 ', 300), decode(repeat('ab', 2100), 'hex'), NULL,
   '1969-12-31', '00:00:00', '1969-12-31 23:59:59.999999', '1970-01-01 00:00:00+00',
   '[]', '00000000-0000-0000-0000-000000000000', '\x', '{}', '{}');
INSERT INTO full_identity VALUES
  (1, 'one', repeat('big-1 ', 400), 1.5, '2024-01-01 00:00:00+00'),
  (2, 'two', repeat('big-2 ', 400), -2.125, '2024-01-02 12:00:00.5+00');
