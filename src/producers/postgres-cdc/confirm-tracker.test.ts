import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfirmTracker } from './confirm-tracker.js';

test('a commit is confirmed only once every message up to it is acknowledged, in order', () => {
  const tracker = new ConfirmTracker(100n);
  const a1 = tracker.message();
  const a2 = tracker.message();
  tracker.commit(200n);
  const b1 = tracker.message();
  tracker.commit(300n);
  tracker.commit(350n); // a transaction with no messages of ours
  assert.equal(tracker.confirmed, 100n);
  a1();
  assert.equal(tracker.confirmed, 100n, 'half of the first transaction is not enough');
  a2();
  assert.equal(tracker.confirmed, 200n);
  assert.equal(tracker.idleAt(999n), false, 'a keepalive does not jump over pending messages');
  b1();
  assert.equal(tracker.confirmed, 350n);
  assert.equal(tracker.pending, 0);
  assert.equal(tracker.idleAt(400n), true);
  assert.equal(tracker.confirmed, 400n);
  assert.equal(tracker.idleAt(390n), false, 'never backwards');
  assert.equal(tracker.confirmed, 400n);
});

test('many commits drain without growing memory', () => {
  const tracker = new ConfirmTracker(0n);
  for (let i = 1; i <= 5000; i++) {
    const ack = tracker.message();
    tracker.commit(BigInt(i));
    ack();
  }
  assert.equal(tracker.confirmed, 5000n);
  assert.equal(tracker.pending, 0);
});
