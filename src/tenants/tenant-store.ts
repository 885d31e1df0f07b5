// Tenants and their bearer tokens in Postgres (the SQL catalog's database): `duckhouse_tenants` (one row per tenant:
// its names, its state) and `duckhouse_tokens` (token id, owning tenant or NULL for an admin token, SHA-256 of the
// secret; see tokens.ts). `authenticate` turns a bearer token into an AccessScope (scope.ts) for each HTTP request:
// successes are cached for `authCacheMs` (default 5 s), so a revocation, or a tenant entering 'deleting', takes effect
// in other processes within that time (at once in this one); last_used_at is written at most once a minute per token.
// Admin tokens given in the environment (DUCKHOUSE_ADMIN_TOKEN) are kept as hashes in memory only.
// Must never: store, log or return a plain token except from issueToken (once), build SQL from values (parameters
// only), or authenticate a revoked token, an unknown one, or one of a tenant being deleted (beyond the cache time).
import pg from 'pg';
import { DuckHouseError, FileExistsError, NotFoundError } from '../shared/errors.js';
import { withAdvisoryLock } from '../shared/postgres.js';
import type { AccessScope, Tenant } from './scope.js';
import { validateTenantId } from './scope.js';
import { generateToken, hashSecret, parseToken, secretMatches } from './tokens.js';

export type TenantState = 'active' | 'deleting';

/** A tenant as stored: its names, the catalog it was created in, its state. */
export interface TenantRecord extends Tenant {
  readonly state: TenantState;
  readonly description: string | null;
  /** The catalog's name at creation (`--catalog-name`): deletion refuses another catalog. */
  readonly catalogName: string;
}

export interface TenantSummary extends TenantRecord {
  /** Tokens not revoked. */
  readonly activeTokens: number;
  readonly revokedTokens: number;
}

export interface TokenRecord {
  readonly tokenId: string;
  /** Null for an admin token. */
  readonly tenantId: string | null;
  readonly description: string | null;
  readonly createdAt: Date;
  readonly lastUsedAt: Date | null;
  readonly revokedAt: Date | null;
}

export type TokenOwner = { readonly tenantId: string } | { readonly admin: true };

export interface TenantStoreOptions {
  /** A pg pool (the caller ends it), or settings to make one (ended by close()). */
  pool?: pg.Pool;
  connection?: pg.PoolConfig;
  /** How long a successful authentication is remembered (default 5000 ms; 0 = never). Revocation takes this long to reach other processes. */
  authCacheMs?: number;
  /** Least time between two last_used_at writes of one token (default 60 000 ms). */
  lastUsedEveryMs?: number;
  /** Clock (tests). */
  now?: () => number;
}

const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS duckhouse_tenants (
  id VARCHAR(40) PRIMARY KEY,
  namespace TEXT[] NOT NULL,
  topic_prefix VARCHAR(1000) NOT NULL,
  warehouse_prefix VARCHAR(1000) NOT NULL,
  duckdb_schema VARCHAR(255) NOT NULL,
  catalog_name VARCHAR(255) NOT NULL,
  state VARCHAR(16) NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'deleting')),
  description TEXT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS duckhouse_tokens (
  token_id VARCHAR(12) PRIMARY KEY,
  tenant_id VARCHAR(40) REFERENCES duckhouse_tenants(id) ON DELETE CASCADE,
  secret_hash BYTEA NOT NULL,
  description TEXT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  last_used_at TIMESTAMPTZ,
  revoked_at TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS duckhouse_tokens_tenant ON duckhouse_tokens (tenant_id);`;

const INIT_LOCK = 'duckhouse-tenants-init';
const UNIQUE_VIOLATION = '23505';
const FOREIGN_KEY_VIOLATION = '23503';
const MAX_CACHED = 10_000;
/** Shortest admin token accepted from the environment (`openssl rand -hex 24` gives 48). */
export const MIN_ENV_TOKEN_CHARS = 24;

interface TenantRow {
  id: string;
  namespace: string[];
  topic_prefix: string;
  warehouse_prefix: string;
  duckdb_schema: string;
  catalog_name: string;
  state: TenantState;
  description: string | null;
  created_at: Date;
}

const TENANT_COLUMNS = 'id, namespace, topic_prefix, warehouse_prefix, duckdb_schema, catalog_name, state, description, created_at';

function tenantOf(row: TenantRow): TenantRecord {
  return {
    id: row.id,
    namespace: row.namespace,
    topicPrefix: row.topic_prefix,
    warehousePrefix: row.warehouse_prefix,
    duckdbSchema: row.duckdb_schema,
    catalogName: row.catalog_name,
    state: row.state,
    description: row.description,
    createdAt: row.created_at,
  };
}

type TokenRow = TenantRow & { token_id: string; tenant_id: string | null; secret_hash: Buffer; revoked_at: Date | null; last_used_at: Date | null };

interface CachedScope {
  readonly hash: Buffer;
  readonly scope: AccessScope;
  readonly expiresAt: number;
}

const codeOf = (error: unknown): string | undefined => (error as { code?: string }).code;

export class TenantStore {
  private readonly pool: pg.Pool;
  private readonly ownsPool: boolean;
  private readonly authCacheMs: number;
  private readonly lastUsedEveryMs: number;
  private readonly now: () => number;
  private ready: Promise<void> | undefined;
  private readonly cache = new Map<string, CachedScope>();
  private readonly lastUsedWritten = new Map<string, number>();
  private readonly inflight = new Map<string, Promise<TokenRow | undefined>>();
  /** Bumped by every revocation or tenant state change made here. */
  private generation = 0;
  /** Admin tokens from the environment: the SHA-256 of the whole token text, and the id it reports. */
  private envAdmins: { tokenId: string; hash: Buffer }[] = [];

  constructor(options: TenantStoreOptions) {
    this.ownsPool = !options.pool;
    this.pool = options.pool ?? new pg.Pool({ max: 4, ...options.connection });
    this.authCacheMs = options.authCacheMs ?? 5000;
    this.lastUsedEveryMs = options.lastUsedEveryMs ?? 60_000;
    this.now = options.now ?? Date.now;
  }

  /** Creates the two tables when missing (once per store; concurrent starts serialised by an advisory lock). */
  init(): Promise<void> {
    this.ready ??= withAdvisoryLock(this.pool, INIT_LOCK, async (client) => {
      await client.query(SCHEMA_SQL);
    });
    this.ready.catch(() => {
      this.ready = undefined;
    });
    return this.ready;
  }

  private async query<R extends pg.QueryResultRow>(sql: string, params: unknown[]): Promise<pg.QueryResult<R>> {
    await this.init();
    return this.pool.query<R>(sql, params);
  }

  // ---- tenants ----

  /** Records a new tenant as 'active'; FileExistsError when the id is taken. */
  async insertTenant(tenant: Omit<Tenant, 'createdAt'> & { catalogName: string; description?: string }): Promise<TenantRecord> {
    validateTenantId(tenant.id);
    try {
      const result = await this.query<TenantRow>(
        `INSERT INTO duckhouse_tenants (id, namespace, topic_prefix, warehouse_prefix, duckdb_schema, catalog_name, description)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${TENANT_COLUMNS}`,
        [tenant.id, [...tenant.namespace], tenant.topicPrefix, tenant.warehousePrefix, tenant.duckdbSchema, tenant.catalogName, tenant.description ?? null],
      );
      return tenantOf(result.rows[0]!);
    } catch (error) {
      if (codeOf(error) === UNIQUE_VIOLATION) throw new FileExistsError(`tenant "${tenant.id}" already exists`, { cause: error, context: { tenant: tenant.id } });
      throw error;
    }
  }

  async getTenant(id: string): Promise<TenantRecord | undefined> {
    const result = await this.query<TenantRow>(`SELECT ${TENANT_COLUMNS} FROM duckhouse_tenants WHERE id = $1`, [id]);
    return result.rows[0] ? tenantOf(result.rows[0]) : undefined;
  }

  /** Every tenant (by id) with its token counts. */
  async listTenants(): Promise<TenantSummary[]> {
    const result = await this.query<TenantRow & { active_tokens: string; revoked_tokens: string }>(
      `SELECT ${TENANT_COLUMNS.split(', ').map((c) => `n.${c}`).join(', ')},
              count(t.token_id) FILTER (WHERE t.revoked_at IS NULL) AS active_tokens,
              count(t.token_id) FILTER (WHERE t.revoked_at IS NOT NULL) AS revoked_tokens
       FROM duckhouse_tenants n LEFT JOIN duckhouse_tokens t ON t.tenant_id = n.id
       GROUP BY n.id ORDER BY n.id`,
      [],
    );
    return result.rows.map((r) => ({ ...tenantOf(r), activeTokens: Number(r.active_tokens), revokedTokens: Number(r.revoked_tokens) }));
  }

  /** Puts the tenant in 'deleting' state: its tokens stop authenticating (here at once, elsewhere within the cache time). */
  async markDeleting(id: string): Promise<TenantRecord | undefined> {
    const result = await this.query<TenantRow>(`UPDATE duckhouse_tenants SET state = 'deleting' WHERE id = $1 RETURNING ${TENANT_COLUMNS}`, [id]);
    this.forget((scope) => scope.kind === 'tenant' && scope.tenant.id === id);
    return result.rows[0] ? tenantOf(result.rows[0]) : undefined;
  }

  /** Removes the tenant's row and (cascade) its tokens; false when there was none. */
  async deleteTenantRow(id: string): Promise<boolean> {
    const result = await this.query('DELETE FROM duckhouse_tenants WHERE id = $1', [id]);
    this.forget((scope) => scope.kind === 'tenant' && scope.tenant.id === id);
    return (result.rowCount ?? 0) > 0;
  }

  // ---- tokens ----

  /**
   * A new token for an active tenant, or an admin token. The plain token is returned this once and never stored.
   * NotFoundError for an unknown tenant; a config error for a tenant being deleted.
   */
  async issueToken(owner: TokenOwner, description?: string): Promise<{ token: string; tokenId: string }> {
    const tenantId = 'tenantId' in owner ? owner.tenantId : null;
    if (tenantId !== null) {
      const tenant = await this.getTenant(tenantId);
      if (!tenant) throw new NotFoundError(`tenant "${tenantId}" does not exist`, { context: { tenant: tenantId } });
      if (tenant.state !== 'active') throw new DuckHouseError('config', `tenant "${tenantId}" is being deleted: it gets no new tokens`, { context: { tenant: tenantId } });
    }
    for (let attempt = 0; ; attempt++) {
      const fresh = generateToken();
      try {
        await this.query('INSERT INTO duckhouse_tokens (token_id, tenant_id, secret_hash, description) VALUES ($1, $2, $3, $4)', [fresh.tokenId, tenantId, fresh.secretHash, description ?? null]);
        return { token: fresh.token, tokenId: fresh.tokenId };
      } catch (error) {
        if (codeOf(error) === UNIQUE_VIOLATION && attempt < 3) continue; // a token id collision (48 random bits): draw again
        if (codeOf(error) === FOREIGN_KEY_VIOLATION) throw new NotFoundError(`tenant "${tenantId}" does not exist`, { cause: error, context: { tenant: tenantId } });
        throw error;
      }
    }
  }

  /** Tokens (never their secrets), newest first: a tenant's, the admin tokens (`admin: true`), or all. */
  async listTokens(filter: { tenantId?: string; admin?: boolean } = {}): Promise<TokenRecord[]> {
    const where = filter.tenantId !== undefined ? 'WHERE tenant_id = $1' : filter.admin ? 'WHERE tenant_id IS NULL' : '';
    const result = await this.query<{ token_id: string; tenant_id: string | null; description: string | null; created_at: Date; last_used_at: Date | null; revoked_at: Date | null }>(
      `SELECT token_id, tenant_id, description, created_at, last_used_at, revoked_at FROM duckhouse_tokens ${where} ORDER BY created_at DESC, token_id`,
      filter.tenantId !== undefined ? [filter.tenantId] : [],
    );
    return result.rows.map((r) => ({ tokenId: r.token_id, tenantId: r.tenant_id, description: r.description, createdAt: r.created_at, lastUsedAt: r.last_used_at, revokedAt: r.revoked_at }));
  }

  /** Revokes a token (kept for the record); false when no such token. Revoking twice keeps the first time. */
  async revokeToken(tokenId: string): Promise<boolean> {
    const result = await this.query('UPDATE duckhouse_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE token_id = $1', [tokenId]);
    this.forget((scope) => scope.tokenId === tokenId);
    return (result.rowCount ?? 0) > 0;
  }

  /**
   * Admin tokens from the environment (DUCKHOUSE_ADMIN_TOKEN), kept only as hashes in memory: a `dhk_…` token (its id
   * shows in the scope) or any other string of at least 24 characters (id `env`). Replaces earlier ones.
   */
  bootstrapAdminTokens(plainTokens: readonly string[]): void {
    this.envAdmins = plainTokens.map((plain, i) => {
      if (plain.length < MIN_ENV_TOKEN_CHARS) throw new DuckHouseError('config', `admin token ${i + 1} from the environment is too short: use \`duckhouse tenant token --admin --generate-only\` or at least ${MIN_ENV_TOKEN_CHARS} random characters (\`openssl rand -hex 24\`)`);
      return { tokenId: parseToken(plain)?.tokenId ?? 'env', hash: hashSecret(plain) };
    });
  }

  /**
   * The scope of a bearer token, or undefined for a malformed, unknown or revoked token and for a tenant being
   * deleted. Successes are cached for authCacheMs.
   */
  async authenticate(token: string): Promise<AccessScope | undefined> {
    if (typeof token !== 'string' || token.length > 512) return undefined;
    const envAdmin = this.envAdmins.find((admin) => secretMatches(token, admin.hash));
    if (envAdmin) return { kind: 'admin', tokenId: envAdmin.tokenId };
    const parsed = parseToken(token);
    if (!parsed) return undefined;
    const now = this.now();
    const cached = this.cache.get(parsed.tokenId);
    if (cached && cached.expiresAt > now && secretMatches(parsed.secret, cached.hash)) return cached.scope;
    const generation = this.generation;
    const row = await this.lookup(parsed.tokenId);
    if (!row || row.revoked_at !== null || !secretMatches(parsed.secret, row.secret_hash)) return undefined;
    let scope: AccessScope;
    if (row.tenant_id === null) {
      scope = { kind: 'admin', tokenId: row.token_id };
    } else {
      if (row.state !== 'active') return undefined;
      const { state: _state, description: _description, ...tenant } = tenantOf(row);
      scope = { kind: 'tenant', tokenId: row.token_id, tenant };
    }
    // A revocation in this process while the lookup ran may have made the row stale: then do not cache it.
    if (this.authCacheMs > 0 && generation === this.generation) {
      if (this.cache.size >= MAX_CACHED) this.cache.clear();
      this.cache.set(row.token_id, { hash: Buffer.from(row.secret_hash), scope, expiresAt: now + this.authCacheMs });
    }
    await this.touch(row.token_id, row.last_used_at, now);
    return scope;
  }

  /** A token's row with its tenant's; concurrent lookups of one token (a burst of requests) share one query. */
  private lookup(tokenId: string): Promise<TokenRow | undefined> {
    let pending = this.inflight.get(tokenId);
    if (!pending) {
      pending = this.query<TokenRow>(
        `SELECT t.token_id, t.tenant_id, t.secret_hash, t.revoked_at, t.last_used_at, ${TENANT_COLUMNS.split(', ').map((c) => `n.${c}`).join(', ')}
         FROM duckhouse_tokens t LEFT JOIN duckhouse_tenants n ON n.id = t.tenant_id WHERE t.token_id = $1`,
        [tokenId],
      ).then((result) => result.rows[0]).finally(() => this.inflight.delete(tokenId));
      this.inflight.set(tokenId, pending);
    }
    return pending;
  }

  /** Writes last_used_at when the last write (by any process) is older than lastUsedEveryMs; a failure is ignored. */
  private async touch(tokenId: string, stored: Date | null, now: number): Promise<void> {
    const last = Math.max(this.lastUsedWritten.get(tokenId) ?? 0, stored?.getTime() ?? 0);
    if (now - last < this.lastUsedEveryMs) return;
    this.lastUsedWritten.set(tokenId, now);
    if (this.lastUsedWritten.size > MAX_CACHED) this.lastUsedWritten.clear();
    await this.pool.query('UPDATE duckhouse_tokens SET last_used_at = $2 WHERE token_id = $1', [tokenId, new Date(now)]).catch(() => undefined);
  }

  private forget(match: (scope: AccessScope) => boolean): void {
    this.generation++;
    for (const [tokenId, entry] of this.cache) if (match(entry.scope)) this.cache.delete(tokenId);
  }

  async close(): Promise<void> {
    this.cache.clear();
    if (this.ownsPool) await this.pool.end();
  }
}
