// The stack's Python venv: dbt-core (<2) with dbt-duckdb, PyIceberg 0.11 and a duckdb pinned to the DuckDB inside
// @duckdb/node-api. Installed from PyPI into the cache; the folder name carries a hash of the requirements file, so
// changing a pin makes the next `up` build a fresh venv. It runs no server.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Component } from '../component.js';
import { PROJECT_ROOT } from '../config.js';
import { requireTool, runLogged } from '../tools.js';

export const REQUIREMENTS_FILE = path.join(PROJECT_ROOT, 'scripts', 'python-requirements.txt');

function requirementsHash(): string {
  return createHash('sha256').update(readFileSync(REQUIREMENTS_FILE)).digest('hex').slice(0, 10);
}

/** The version the requirements file pins for `pkg` with `==`, if any. */
export function pinnedVersion(pkg: string, text = readFileSync(REQUIREMENTS_FILE, 'utf8')): string | undefined {
  const line = text.split('\n').find((l) => l.trim().toLowerCase().startsWith(`${pkg.toLowerCase()}==`));
  return line?.split('==')[1]?.trim();
}

export const python: Component = {
  name: 'python',
  title: 'Python venv (dbt, PyIceberg)',
  ports: [],
  dependsOn: [],
  stopSignal: 'SIGTERM',
  installKey: () => requirementsHash(),

  async install(ctx, dir) {
    const python3 = requireTool('python', process.env.DUCKHOUSE_PYTHON ?? 'python3', 'install Python 3.11 with venv: apt-get install python3-venv');
    ctx.progress('creating the venv and installing dbt-core, dbt-duckdb, pyiceberg, duckdb from PyPI…');
    await runLogged('python', python3, ['-m', 'venv', dir], { logFile: ctx.installLogFile });
    const pip = path.join(dir, 'bin', 'pip');
    const env = { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: '1' };
    await runLogged('python', pip, ['install', '--quiet', '-r', REQUIREMENTS_FILE], { logFile: ctx.installLogFile, env });
    await runLogged('python', path.join(dir, 'bin', 'python'), ['-c', 'import dbt.version, pyiceberg, duckdb'], {
      logFile: ctx.installLogFile,
    });
  },

  ready: async (_ctx, dir) => existsSync(path.join(dir, 'bin', 'python')) && existsSync(path.join(dir, 'bin', 'dbt')),
};
