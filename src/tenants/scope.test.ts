import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DuckHouseError } from '../shared/errors.js';
import type { AccessScope } from './scope.js';
import { ownsDuckDBSchema, ownsLocation, ownsNamespace, ownsTopic, RESERVED_TENANT_IDS, tenantNames, tenantScope, validateTenantId } from './scope.js';

const acme = tenantScope({ ...tenantNames('acme', 'duckhouse', 's3://lake/warehouse/'), createdAt: new Date(0) }, 'abc');
const admin: AccessScope = { kind: 'admin', tokenId: 'root' };

describe('tenant ids', () => {
  it('accept lower-case identifiers up to 40 characters', () => {
    for (const id of ['a', 'acme', 'acme_2', `a${'b'.repeat(39)}`]) assert.equal(validateTenantId(id), id);
  });

  it('refuse malformed ids with a config error that names the id', () => {
    for (const id of ['', 'Acme', '2acme', '_acme', 'ac-me', 'ac.me', 'ac/me', 'ac me', '..', `a${'b'.repeat(40)}`, 'acmé']) {
      assert.throws(() => validateTenantId(id), (e: unknown) => e instanceof DuckHouseError && e.kind === 'config' && e.message.includes(`"${id}"`), id);
    }
  });

  it('refuse reserved ids', () => {
    for (const id of ['v1', 'main', 'duckhouse', 'information_schema', 'dlq']) {
      assert.ok(RESERVED_TENANT_IDS.has(id));
      assert.throws(() => validateTenantId(id), /reserved/);
    }
  });
});

describe('tenant names', () => {
  it('derive every name from the id', () => {
    assert.deepEqual(tenantNames('acme', 'duckhouse', 's3://lake/warehouse//'), {
      id: 'acme', namespace: ['acme'], topicPrefix: 'duckhouse.acme.', warehousePrefix: 's3://lake/warehouse/acme/', duckdbSchema: 'acme',
    });
  });
});

describe('ownership', () => {
  it('covers the tenant namespace and those below it, never a sibling with the same prefix', () => {
    assert.equal(ownsNamespace(acme, ['acme']), true);
    assert.equal(ownsNamespace(acme, ['acme', 'sub']), true);
    assert.equal(ownsNamespace(acme, ['acme', 'sub', 'deeper']), true);
    assert.equal(ownsNamespace(acme, ['acme2']), false);
    assert.equal(ownsNamespace(acme, ['acm']), false);
    assert.equal(ownsNamespace(acme, ['demo']), false);
    assert.equal(ownsNamespace(acme, ['demo', 'acme']), false);
    assert.equal(ownsNamespace(acme, []), false);
    assert.equal(ownsNamespace(acme, ['acme.sub']), false, 'one level named "acme.sub" is not below acme');
  });

  it('covers locations under the warehouse prefix only, and none with a .. segment', () => {
    assert.equal(ownsLocation(acme, 's3://lake/warehouse/acme/orders/data/x.parquet'), true);
    assert.equal(ownsLocation(acme, 's3://lake/warehouse/acme/sub/t/metadata/00000-x.metadata.json'), true);
    assert.equal(ownsLocation(acme, 's3://lake/warehouse/acme2/orders/data/x.parquet'), false);
    assert.equal(ownsLocation(acme, 's3://lake/warehouse/acme'), false, 'the prefix needs its slash');
    assert.equal(ownsLocation(acme, 's3://lake/warehouse/acme/../acme2/orders/x.parquet'), false);
    assert.equal(ownsLocation(acme, 's3://lake/warehouse/acme/orders/../../demo/t/x.parquet'), false);
    assert.equal(ownsLocation(acme, 's3://lake/warehouse/acme/..'), false);
    assert.equal(ownsLocation(acme, 's3://lake/warehouse/acme/..x/file'), true, 'a name that only starts with .. is a plain name');
    assert.equal(ownsLocation(acme, 's3://other/warehouse/acme/orders/x.parquet'), false);
    assert.equal(ownsLocation(acme, 'S3://lake/warehouse/acme/orders/x.parquet'), false);
  });

  it('covers topics with the dotted prefix only', () => {
    assert.equal(ownsTopic(acme, 'duckhouse.acme.orders'), true);
    assert.equal(ownsTopic(acme, 'duckhouse.acme2.orders'), false);
    assert.equal(ownsTopic(acme, 'duckhouse.acme'), false);
    assert.equal(ownsTopic(acme, 'duckhouse.dlq'), false);
    assert.equal(ownsTopic(acme, 'other.acme.orders'), false);
  });

  it('covers the DuckDB schema and its nested schemas only', () => {
    assert.equal(ownsDuckDBSchema(acme, 'acme'), true);
    assert.equal(ownsDuckDBSchema(acme, 'acme.sub'), true);
    assert.equal(ownsDuckDBSchema(acme, 'acme2'), false);
    assert.equal(ownsDuckDBSchema(acme, 'acme_x'), false);
    assert.equal(ownsDuckDBSchema(acme, '_duckhouse'), false);
    assert.equal(ownsDuckDBSchema(acme, 'main'), false);
  });

  it('gives an admin everything', () => {
    assert.equal(ownsNamespace(admin, ['acme2']), true);
    assert.equal(ownsLocation(admin, 's3://anything/x'), true);
    assert.equal(ownsTopic(admin, 'duckhouse.acme2.orders'), true);
    assert.equal(ownsDuckDBSchema(admin, 'demo'), true);
  });
});
