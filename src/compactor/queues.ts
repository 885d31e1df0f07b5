// The BullMQ queues DuckHouse's workers share (ARCHITECTURE.md: one module for queue names and job types): the sink
// publishes a commit event per table commit; the compactor, the view refresher and the dbt trigger consume them.
// Must never: put row data or secrets in a job (events say what changed, not the data).
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';

/** `<prefix>-commits`: one job per sink commit. Queue names may not contain ':' (BullMQ's key separator). */
export const commitQueueName = (prefix: string): string => `${prefix.replaceAll(':', '-')}-commits`;

/** The job the sink adds after each table commit. */
export interface CommitEvent {
  /** `namespace.table`. */
  readonly table: string;
  /** Decimal string (snapshot ids are 63-bit). */
  readonly snapshotId: string | null;
  readonly rowsAdded: number;
  readonly rowsDeleted: number;
  readonly dataFiles: number;
  readonly deleteFiles: number;
  /** Next offset per topic, per partition, as committed. */
  readonly offsets: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** ISO-8601 time of the commit. */
  readonly committedAt: string;
}

export const COMMIT_JOB = 'commit';

export interface CommitEventPublisherOptions {
  /** Jobs kept after completion / failure, for inspection (default 1,000 / 5,000). */
  keepCompleted?: number;
  keepFailed?: number;
}

/** Adds commit events to the commit queue. */
export class CommitEventPublisher {
  private readonly queue: Queue<CommitEvent>;

  constructor(connection: Redis, readonly queueName: string, private readonly options: CommitEventPublisherOptions = {}) {
    this.queue = new Queue<CommitEvent>(queueName, { connection });
  }

  async publish(event: CommitEvent): Promise<void> {
    await this.queue.add(COMMIT_JOB, event, {
      removeOnComplete: this.options.keepCompleted ?? 1000,
      removeOnFail: this.options.keepFailed ?? 5000,
    });
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}
