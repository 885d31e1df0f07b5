// Decides which WAL position may be confirmed to Postgres: a transaction's commit end LSN once Kafka acknowledged every
// message sent for it and for every transaction before it (KafkaSender reports acks in send order), or a keepalive's
// position when nothing at all is pending. Postgres then keeps no WAL before that position for the slot.
// PURE: no IO. Must never: move the confirmed position past a message Kafka has not acknowledged, or backwards.

export class ConfirmTracker {
  private sent = 0;
  private acked = 0;
  /** Commits waiting for their messages' acks: `seq` is the last message sent before the commit. */
  private readonly commits: { seq: number; endLsn: bigint }[] = [];
  private head = 0;
  private position: bigint;

  /** `start`: the slot's confirmed_flush_lsn (streaming resumes there). */
  constructor(start: bigint) {
    this.position = start;
  }

  /** The position Postgres may be told: everything before it is in Kafka. */
  get confirmed(): bigint {
    return this.position;
  }

  /** Messages handed to Kafka and not yet acknowledged, plus commits waiting for them. */
  get pending(): number {
    return this.sent - this.acked + (this.commits.length - this.head);
  }

  /** Registers one message about to be sent; returns the callback the sender calls when it is acknowledged. */
  message(): () => void {
    const seq = ++this.sent;
    return () => {
      if (seq > this.acked) this.acked = seq;
      this.drain();
    };
  }

  /** A transaction's Commit was handled (all its messages were handed to the sender): confirm `endLsn` once acked. */
  commit(endLsn: bigint): void {
    this.commits.push({ seq: this.sent, endLsn });
    this.drain();
  }

  /**
   * A keepalive at `lsn` arrived while the caller had no transaction open and no received message unhandled: when all
   * sent messages are acknowledged too, nothing before `lsn` is pending and it may be confirmed.
   */
  idleAt(lsn: bigint): boolean {
    if (this.pending !== 0 || lsn <= this.position) return false;
    this.position = lsn;
    return true;
  }

  private drain(): void {
    while (this.head < this.commits.length) {
      const next = this.commits[this.head]!;
      if (next.seq > this.acked) break;
      if (next.endLsn > this.position) this.position = next.endLsn;
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.commits.length) {
      this.commits.splice(0, this.head);
      this.head = 0;
    }
  }
}
