// update-properties: sets and removes table properties (table behaviour lives there: file sizes, retention).
// Properties merge, so no requirement beyond the table's identity. Must never: set and remove the same key at once.
import { DuckHouseError } from '../../shared/errors.js';
import type { Table } from '../catalogs/catalog.js';
import type { TableUpdate } from '../spec/table-update.js';
import type { PendingCommit, TableAction } from './action.js';

export function updateProperties(set: Readonly<Record<string, string>>, remove: readonly string[] = []): TableAction {
  const clash = remove.find((key) => key in set);
  if (clash) throw new DuckHouseError('config', `update-properties: "${clash}" is both set and removed`);
  for (const [key, value] of Object.entries(set)) {
    if (typeof value !== 'string') throw new DuckHouseError('config', `update-properties: "${key}" must be a string, found ${typeof value}`);
  }
  return {
    name: 'update-properties',
    prepare(base: Table): Promise<PendingCommit> {
      const updates: TableUpdate[] = [];
      if (Object.keys(set).length > 0) updates.push({ action: 'set-properties', updates: set });
      if (remove.length > 0) updates.push({ action: 'remove-properties', removals: remove });
      return Promise.resolve({ updates, requirements: [{ type: 'assert-table-uuid', uuid: base.metadata.tableUuid }] });
    },
  };
}
