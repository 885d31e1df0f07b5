// The status report's shape: what collectStatus (status-data.ts) gathers, the HTML page renders and GET /api/v1/status
// returns as JSON, plus the JSON schema of that response (for fastify's serializer and the OpenAPI document).
// Every section carries its own `error` so one failing source (Redis, Kafka, the catalog) leaves the rest intact.
// Must never: hold row data or secrets; numbers are JSON numbers (counts and offsets stay far below 2^53).
import type { JobCounts } from '../../compactor/worker-status.js';

/** How a table keeps up with its topic: caught up (lag 0), lagging, stale (behind for long) or unknown (no topic). */
export type FreshnessState = 'caught-up' | 'lagging' | 'stale' | 'unknown';

/** The page's overall state: the worst of the tables' freshness, failed jobs and sections that could not be read. */
export type OverallState = 'ok' | 'lagging' | 'stale' | 'degraded';

export const FRESHNESS_DEFINITION =
  'Freshness lag is 0 when the table has committed every record of its topic (every partition\'s lag is 0); otherwise it ' +
  'is the time since the table\'s last sink commit (the newest snapshot that records Kafka offsets). Consumer lag per ' +
  'partition is the topic\'s end offset minus the next offset recorded in the table\'s snapshot summary (the table, ' +
  'not the consumer group, is the source of truth). The chart shows, per commit, the commit time minus the Kafka ' +
  'timestamp of the oldest record in that commit (summary property duckhouse.kafka.min-timestamp-ms).';

export interface PartitionLag {
  readonly topic: string;
  readonly partition: number;
  /** The topic partition's next offset (high watermark). */
  readonly endOffset: number;
  /** The next offset the table records for this partition (0 when it records none). */
  readonly committedOffset: number;
  /** endOffset − committedOffset, never below 0. */
  readonly lag: number;
}

export interface FreshnessPoint {
  /** Snapshot id, decimal. */
  readonly snapshotId: string;
  /** ISO-8601 commit time (the snapshot's timestamp). */
  readonly committedAt: string;
  /** Commit time minus the oldest record's Kafka timestamp, in seconds. */
  readonly freshnessSeconds: number;
}

export interface TableStatus {
  /** `namespace.table`. */
  readonly table: string;
  readonly namespace: string[];
  readonly name: string;
  /** `dead-letters` for the sink's DLQ table (its offsets are letters', not a topic's: no lag for it). */
  readonly role: 'table' | 'dead-letters';
  /** Set when the table could not be loaded; the counts are then null. */
  readonly error: string | null;
  readonly rows: number | null;
  readonly dataFiles: number | null;
  readonly deleteFiles: number | null;
  readonly sizeBytes: number | null;
  readonly snapshots: number;
  /** ISO-8601 time of the current snapshot (any writer: sink, compactor, replay); null for an empty table. */
  readonly lastCommitAt: string | null;
  /** ISO-8601 time of the newest snapshot that records Kafka offsets (the last sink commit). */
  readonly lastSinkCommitAt: string | null;
  /** See FRESHNESS_DEFINITION; null when unknown (no topic, or Kafka could not be read). */
  readonly freshnessLagMs: number | null;
  readonly freshnessState: FreshnessState;
  /** The topics the lag is measured against (those recorded in the summary, else `<prefix>.<ns>.<table>`). */
  readonly topics: string[];
  /** Set when the end offsets could not be read (Kafka down, topic missing). */
  readonly lagError: string | null;
  /** Sum of the partitions' lag; null when unknown. */
  readonly totalLag: number | null;
  readonly partitions: PartitionLag[];
  /** Recent commits with record timestamps, oldest first (the chart's series). */
  readonly freshness: FreshnessPoint[];
}

export interface QueueStatus {
  /** `views` | `compact` | `dbt` | `dbtRuns`. */
  readonly role: string;
  readonly name: string;
  readonly counts: JobCounts;
}

export interface QueuesSection {
  readonly error: string | null;
  /** False for tenants: queues hold every tenant's jobs. */
  readonly visible: boolean;
  readonly items: QueueStatus[];
}

export interface DeadLetterCount {
  /** `namespace.table` the letters were meant for (null when the letter names none). */
  readonly table: string | null;
  readonly kind: string;
  readonly count: number;
}

export interface DeadLettersSection {
  readonly topic: string;
  /** Letters in the DLQ topic (end − start offset, summed over partitions); null for tenants or when unknown. */
  readonly topicTotal: number | null;
  readonly topicError: string | null;
  /** `namespace.table` of the DLQ Iceberg table. */
  readonly table: string;
  /** Letters in the DLQ table that are not replayed yet (only the scope's own for a tenant); null when unknown. */
  readonly tableTotal: number | null;
  readonly tableError: string | null;
  /** Counts per target table and kind, largest first; empty when not counted (see `note`). */
  readonly byTable: DeadLetterCount[];
  /** Why the per-table counts are missing or partial (a DLQ table too large to scan, none yet). */
  readonly note: string | null;
}

export interface DbtRunSummary {
  readonly id: string;
  readonly status: string;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly tables: string[];
  readonly models: { readonly ok: number; readonly failed: number; readonly total: number };
  readonly tests: { readonly passed: number; readonly failed: number; readonly total: number };
  /** First failures (node: message, clipped); empty for tenants. */
  readonly failures: string[];
}

export interface DbtRunsSection {
  readonly error: string | null;
  readonly items: DbtRunSummary[];
}

export interface StatusReport {
  readonly generatedAt: string;
  readonly scope: { readonly kind: 'admin' | 'tenant'; readonly tenant: string | null };
  readonly prefix: string;
  readonly state: OverallState;
  /** One line per reason the state is not ok. */
  readonly problems: string[];
  readonly freshnessDefinition: string;
  readonly tables: { readonly error: string | null; readonly items: TableStatus[] };
  readonly queues: QueuesSection;
  readonly deadLetters: DeadLettersSection;
  readonly dbtRuns: DbtRunsSection;
}

// ---- JSON schema (fastify serializes with it: every field must be listed, or it is dropped) ----

const str = { type: 'string' } as const;
const int = { type: 'integer' } as const;
const num = { type: 'number' } as const;
const nullable = (type: 'string' | 'integer' | 'number'): { type: readonly [string, 'null'] } => ({ type: [type, 'null'] });
const obj = (properties: Record<string, unknown>): Record<string, unknown> => ({ type: 'object', additionalProperties: false, required: Object.keys(properties), properties });
const arr = (items: unknown): Record<string, unknown> => ({ type: 'array', items });

const jobCounts = obj({ waiting: int, active: int, delayed: int, completed: int, failed: int });

export const STATUS_REPORT_SCHEMA = {
  ...obj({
    generatedAt: { type: 'string', format: 'date-time' },
    scope: obj({ kind: { type: 'string', enum: ['admin', 'tenant'] }, tenant: nullable('string') }),
    prefix: str,
    state: { type: 'string', enum: ['ok', 'lagging', 'stale', 'degraded'] },
    problems: arr(str),
    freshnessDefinition: str,
    tables: obj({
      error: nullable('string'),
      items: arr(obj({
        table: str,
        namespace: arr(str),
        name: str,
        role: { type: 'string', enum: ['table', 'dead-letters'] },
        error: nullable('string'),
        rows: nullable('integer'),
        dataFiles: nullable('integer'),
        deleteFiles: nullable('integer'),
        sizeBytes: nullable('integer'),
        snapshots: int,
        lastCommitAt: nullable('string'),
        lastSinkCommitAt: nullable('string'),
        freshnessLagMs: nullable('integer'),
        freshnessState: { type: 'string', enum: ['caught-up', 'lagging', 'stale', 'unknown'] },
        topics: arr(str),
        lagError: nullable('string'),
        totalLag: nullable('integer'),
        partitions: arr(obj({ topic: str, partition: int, endOffset: int, committedOffset: int, lag: int })),
        freshness: arr(obj({ snapshotId: str, committedAt: str, freshnessSeconds: num })),
      })),
    }),
    queues: obj({ error: nullable('string'), visible: { type: 'boolean' }, items: arr(obj({ role: str, name: str, counts: jobCounts })) }),
    deadLetters: obj({
      topic: str,
      topicTotal: nullable('integer'),
      topicError: nullable('string'),
      table: str,
      tableTotal: nullable('integer'),
      tableError: nullable('string'),
      byTable: arr(obj({ table: nullable('string'), kind: str, count: int })),
      note: nullable('string'),
    }),
    dbtRuns: obj({
      error: nullable('string'),
      items: arr(obj({
        id: str,
        status: str,
        startedAt: str,
        durationMs: num,
        tables: arr(str),
        models: obj({ ok: int, failed: int, total: int }),
        tests: obj({ passed: int, failed: int, total: int }),
        failures: arr(str),
      })),
    }),
  }),
  title: 'StatusReport',
  description: 'What DuckHouse is doing: tables (rows, files, freshness, consumer lag per partition), queues, dead letters and recent dbt runs. Sections that could not be read carry an error and leave the rest intact.',
} as const;
