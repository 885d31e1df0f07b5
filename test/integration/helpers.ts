// Shared by the integration tests: the running stack's endpoints (stack.json) and random names, so runs never collide.
import { randomBytes } from 'node:crypto';
import { type StackEndpoints, readEndpoints } from '../../src/stack/config.js';

export function endpoints(): StackEndpoints {
  return readEndpoints();
}

/** A name unique to this test run: `<prefix>-<random hex>`. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}
