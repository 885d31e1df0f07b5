-- Streamed changes for scripts/debezium-fixtures.sh, run after the snapshot has been read. One transaction per
-- statement unless grouped in BEGIN/COMMIT. The TRUNCATE comes last: the capture stops once it has seen it.
-- Inserts (op "c").
INSERT INTO all_types VALUES
  (10, 42, 7, 0.50, 100, 0.25, -1e300, true, 'ten', 'v10', repeat('toast-10 ', 300), decode(repeat('0a', 2100), 'hex'), ARRAY(SELECT generate_series(601, 1200)),
   '2000-01-01', '23:59:59.999999', '2000-01-01 00:00:00', '2000-01-01 00:00:00-05',
   '{"k": "v"}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '\xdeadbeef', '{10,20}', '{"x"}');
INSERT INTO all_types (id, c_text) VALUES (11, 'eleven');
-- An update that changes the TOASTed columns too (all values sent).
UPDATE all_types SET c_int8 = 43, c_toast = repeat('toast-10b ', 300), c_toast_bytes = decode(repeat('0b', 2100), 'hex'),
  c_numeric = 99999999.99 WHERE id = 10;
-- An update that leaves the TOASTed columns alone: Debezium sends its unavailable-value placeholder for them.
UPDATE all_types SET c_int8 = 44, c_text = 'ten, again' WHERE id = 10;
UPDATE all_types SET c_int2 = 1 WHERE id = 1;
-- A primary-key change: a delete of the old key (+ tombstone) and a create of the new one.
UPDATE all_types SET id = 12 WHERE id = 11;
-- A delete (+ tombstone); with the default replica identity "before" holds only the key.
DELETE FROM all_types WHERE id = 2;
-- Two changes in one transaction (same txId, increasing lsn).
BEGIN;
INSERT INTO all_types (id, c_text, c_int8) VALUES (13, 'in txn', 1);
UPDATE all_types SET c_int8 = 2 WHERE id = 13;
COMMIT;

-- REPLICA IDENTITY FULL table.
INSERT INTO full_identity VALUES (3, 'three', repeat('big-3 ', 400), 3.333, '2024-03-03 03:03:03.333333+00');
UPDATE full_identity SET name = 'one, renamed' WHERE id = 1;
UPDATE full_identity SET big_text = repeat('big-2b ', 400), amount = 2.5 WHERE id = 2;
UPDATE full_identity SET id = 4 WHERE id = 3;
DELETE FROM full_identity WHERE id = 2;

-- Truncates last (op "t", no key).
TRUNCATE all_types;
TRUNCATE full_identity;
