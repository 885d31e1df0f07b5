// `duckhouse tenant create|list|delete|token|tokens|revoke`: tenants (src/tenants) — an isolated namespace each (topic
// prefix, warehouse prefix, catalog namespace, DuckDB schema) reached with its own bearer tokens. Reads the running
// stack's endpoints unless told otherwise. Exit codes: 0 done, 1 failed, 2 usage error or refused (an existing or
// malformed id, a delete without --yes).
// Must never: print a token except right after issuing it (once), or print credentials.
import path from 'node:path';
import type { Command } from 'commander';
import { Command as CommandClass } from 'commander';
import type { CatalogFlags } from './catalog-options.js';
import { addCatalogOptions, openCatalog } from './catalog-options.js';
import { addConnectionOptions, addDuckDBOption, addPrefixOption, brokerList, registryUrl } from './common-options.js';
import { defaultDuckDBFile } from './worker-command.js';
import { formatIdentifier } from '../catalog/catalogs/catalog.js';
import { createKafka, topicAdmin } from '../producers/kafka/client.js';
import { subjectAdmin } from '../schemas/registry.js';
import { DuckHouseError, NotFoundError } from '../shared/errors.js';
import type { StackEndpoints } from '../stack/config.js';
import { readEndpoints } from '../stack/config.js';
import type { DeleteTenantDeps, DeleteTenantResult } from '../tenants/lifecycle.js';
import { createTenant, deleteTenant, planTenantDelete } from '../tenants/lifecycle.js';
import { TenantStore } from '../tenants/tenant-store.js';
import { generateToken } from '../tenants/tokens.js';

/** Where the command writes (stdout; tests pass their own). */
export interface Output {
  write(text: string): unknown;
}

interface ServiceFlags extends CatalogFlags {
  prefix: string;
  duckdb?: string;
  brokers?: string;
  registry?: string;
}

const STORE_NOTE = 'Store this token now (in a secret manager, for example): it is shown only this once; DuckHouse keeps only its hash.';

function addServiceOptions(command: Command): Command {
  addPrefixOption(command, 'the sink\'s topic prefix: a tenant\'s topics are <prefix>.<id>.<table>');
  addDuckDBOption(command);
  addConnectionOptions(command);
  return addCatalogOptions(command);
}

/** Runs `fn` with a tenant store on the stack's Postgres, closed afterwards. */
async function withStore<T>(stack: StackEndpoints, fn: (store: TenantStore) => Promise<T>): Promise<T> {
  const { host, port, user, password, database } = stack.postgres;
  const store = new TenantStore({ connection: { host, port, user, password, database, max: 2 } });
  try {
    return await fn(store);
  } finally {
    await store.close().catch(() => undefined);
  }
}

/** Runs `fn` with everything create/delete need, all closed afterwards. */
async function withServices<T>(flags: ServiceFlags, fn: (deps: DeleteTenantDeps & { topicPrefix: string }) => Promise<T>): Promise<T> {
  const stack = readEndpoints();
  const catalog = openCatalog(flags, stack);
  try {
    return await withStore(stack, (store) => fn({
      store,
      catalog,
      duckdbFile: flags.duckdb ? path.resolve(flags.duckdb) : defaultDuckDBFile(),
      topicPrefix: flags.prefix,
      topics: topicAdmin(createKafka({ brokers: brokerList(flags, stack), clientId: 'duckhouse-tenant', quiet: true })),
      subjects: subjectAdmin({ url: registryUrl(flags, stack) }),
    }));
  } finally {
    await catalog.close().catch(() => undefined);
  }
}

/** Rows as aligned columns; the last column is not padded. */
function columns(rows: readonly string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n');
}

const ISO = (d: Date | null): string => (d ? d.toISOString().replace(/\.\d{3}Z$/, 'Z') : '-');

function formatDeleted(r: DeleteTenantResult): string {
  if (!r.found) return `no tenant "${r.tenant}": nothing deleted\n`;
  const lines = [
    `deleted tenant ${r.tenant}:`,
    `  ${r.tables} table(s), ${r.namespaces} namespace(s), ${r.tableFiles} table file(s) and ${r.orphanFiles} other file(s) under the warehouse prefix`,
    `  ${r.duckdbSchemas} DuckDB schema(s) with the views of ${r.viewTables} table(s), ${r.cachedFiles} cached file(s)`,
    `  ${r.topics} Kafka topic(s), ${r.subjects} registry subject(s), ${r.tokens} token(s)`,
  ];
  if (r.filesOutsidePrefix > 0) lines.push(`  kept ${r.filesOutsidePrefix} file(s) its tables referenced outside the tenant's warehouse prefix (not the tenant's to delete)`);
  return `${lines.join('\n')}\n`;
}

export function tenantCommand(out: Output = process.stdout, err: Output = process.stderr): Command {
  const tenant = (new CommandClass('tenant').description('tenants: isolated namespaces (topics, warehouse prefix, catalog namespace, DuckDB schema) with their own bearer tokens'));

  const create = (new CommandClass('create').argument('<id>', 'tenant id: a lower-case letter, then up to 39 lower-case letters, digits or _')
    .description('create a tenant and print its first token (once)')
    .option('--description <text>', 'what the tenant is for'));
  addServiceOptions(create).action(async (id: string, flags: ServiceFlags & { description?: string }) => {
    const created = await withServices(flags, (deps) => createTenant(deps, id, {
      ...(flags.description === undefined ? {} : { description: flags.description }),
      onProgress: (m) => err.write(`${m}\n`),
    }));
    const t = created.tenant;
    out.write([
      `tenant ${t.id} created:`,
      `  catalog namespace  ${t.namespace.join('.')} (catalog "${t.catalogName}")`,
      `  topics             ${t.topicPrefix}<table>`,
      `  warehouse prefix   ${t.warehousePrefix}`,
      `  DuckDB schema      ${t.duckdbSchema}`,
      `  token id           ${created.tokenId}`,
      `  token              ${created.token}`,
      STORE_NOTE,
      '',
    ].join('\n'));
  });

  const list = (new CommandClass('list').description('list tenants with their state and token counts').option('--json', 'print a JSON array'));
  list.action(async (flags: { json?: boolean }) => {
    const tenants = await withStore(readEndpoints(), (store) => store.listTenants());
    if (flags.json) {
      out.write(`${JSON.stringify(tenants, null, 2)}\n`);
      return;
    }
    if (tenants.length === 0) {
      out.write('no tenants\n');
      return;
    }
    out.write(`${columns([
      ['ID', 'STATE', 'TOKENS', 'CREATED', 'TOPICS', 'WAREHOUSE PREFIX', 'DESCRIPTION'],
      ...tenants.map((t) => [t.id, t.state, `${t.activeTokens}${t.revokedTokens > 0 ? ` (+${t.revokedTokens} revoked)` : ''}`, ISO(t.createdAt), `${t.topicPrefix}*`, t.warehousePrefix, t.description ?? '']),
    ])}\n`);
  });

  const remove = (new CommandClass('delete').argument('<id>', 'tenant id')
    .description('delete a tenant and everything it owns (tables and files, namespaces, DuckDB schemas, topics, subjects, tokens); re-run to finish an interrupted delete')
    .option('--yes', 'confirm the deletion (without it, print what would be deleted and exit 2)'));
  addServiceOptions(remove).action(async (id: string, flags: ServiceFlags & { yes?: boolean }) => {
    await withServices(flags, async (deps) => {
      if (!flags.yes) {
        const plan = await planTenantDelete(deps, id);
        if (!plan) {
          out.write(`no tenant "${id}": nothing to delete\n`);
          return;
        }
        const t = plan.tenant;
        const names = (items: readonly string[]): string => (items.length === 0 ? '' : `: ${items.slice(0, 10).join(', ')}${items.length > 10 ? ', …' : ''}`);
        err.write([
          `refusing to delete tenant ${id} without --yes. It would delete, for good:`,
          `  ${plan.tables.length} table(s) in namespace ${t.namespace.join('.')} and below${names(plan.tables.map(formatIdentifier))}`,
          `  every file under ${t.warehousePrefix}`,
          `  DuckDB schemas ${t.duckdbSchema} and ${t.duckdbSchema}.* in ${deps.duckdbFile}, with their views`,
          `  ${plan.topics.length} Kafka topic(s) under ${t.topicPrefix}${names(plan.topics)}`,
          `  ${plan.subjects.length} schema registry subject(s)${names(plan.subjects)}`,
          `  the tenant and its ${plan.tokens} active token(s)`,
          `Confirm with: duckhouse tenant delete ${id} --yes`,
          '',
        ].join('\n'));
        process.exitCode = 2;
        return;
      }
      out.write(formatDeleted(await deleteTenant(deps, id, { onProgress: (m) => err.write(`${m}\n`) })));
    });
  });

  const token = (new CommandClass('token').argument('[id]', 'the tenant the token is for')
    .description('issue another token for a tenant, or an admin token (--admin); printed once')
    .option('--admin', 'an admin token: sees every namespace')
    .option('--description <text>', 'what the token is for (shown in `tenant tokens`)')
    .option('--generate-only', 'with --admin: print a new admin token without recording it (for DUCKHOUSE_ADMIN_TOKEN)'));
  token.action(async (id: string | undefined, flags: { admin?: boolean; description?: string; generateOnly?: boolean }) => {
    if ((id === undefined) === !flags.admin) throw new DuckHouseError('config', 'tenant token: give a tenant id or --admin (not both)');
    if (flags.generateOnly) {
      if (!flags.admin) throw new DuckHouseError('config', 'tenant token: --generate-only needs --admin');
      out.write(`${generateToken().token}\n`);
      err.write('Not recorded anywhere: set it as DUCKHOUSE_ADMIN_TOKEN for the services that check tokens.\n');
      return;
    }
    const issued = await withStore(readEndpoints(), (store) => store.issueToken(id === undefined ? { admin: true } : { tenantId: id }, flags.description));
    out.write(`${id === undefined ? 'admin token' : `token for tenant ${id}`} ${issued.tokenId}:\n  ${issued.token}\n${STORE_NOTE}\n`);
  });

  const tokens = (new CommandClass('tokens').argument('[id]', 'only this tenant\'s tokens')
    .description('list tokens (ids, never secrets)')
    .option('--admin', 'only admin tokens')
    .option('--json', 'print a JSON array'));
  tokens.action(async (id: string | undefined, flags: { admin?: boolean; json?: boolean }) => {
    const found = await withStore(readEndpoints(), (store) => store.listTokens({ ...(id === undefined ? {} : { tenantId: id }), ...(flags.admin ? { admin: true } : {}) }));
    if (flags.json) {
      out.write(`${JSON.stringify(found, null, 2)}\n`);
      return;
    }
    if (found.length === 0) {
      out.write('no tokens\n');
      return;
    }
    out.write(`${columns([
      ['TOKEN ID', 'TENANT', 'CREATED', 'LAST USED', 'REVOKED', 'DESCRIPTION'],
      ...found.map((t) => [t.tokenId, t.tenantId ?? '(admin)', ISO(t.createdAt), ISO(t.lastUsedAt), ISO(t.revokedAt), t.description ?? '']),
    ])}\n`);
  });

  const revoke = (new CommandClass('revoke').argument('<token-id>', 'the token id (the 12 hex characters after dhk_)')
    .description('revoke a token (services that cache tokens stop accepting it within seconds)'));
  revoke.action(async (tokenId: string) => {
    const done = await withStore(readEndpoints(), (store) => store.revokeToken(tokenId));
    if (!done) throw new NotFoundError(`no token with id ${tokenId}`);
    out.write(`token ${tokenId} revoked\n`);
  });

  return tenant.addCommand(create).addCommand(list).addCommand(remove).addCommand(token).addCommand(tokens).addCommand(revoke);
}
