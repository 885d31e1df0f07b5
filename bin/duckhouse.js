#!/usr/bin/env node
// The `duckhouse` command: runs the compiled CLI (npm install builds it through `prepare`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/bin/duckhouse.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  console.error('duckhouse: the CLI is not built yet. Run `npm install` (or `npm run build`) in the project folder first.');
  process.exit(1);
}
await import(entry.href);
