// Starts a worker thread from one of our modules, both when running compiled JS (dist/) and under tsx in development
// and tests (a worker does not inherit tsx's loader, so a .ts module is imported through tsx's API).
// Must never: be used for modules outside this project.
import { Worker } from 'node:worker_threads';

export function startModuleWorker(moduleUrl: URL, workerData: unknown): Worker {
  if (!moduleUrl.pathname.endsWith('.ts')) return new Worker(moduleUrl, { workerData });
  const source = `import('tsx/esm/api').then(({ tsImport }) => tsImport(${JSON.stringify(moduleUrl.href)}, ${JSON.stringify(moduleUrl.href)}))`;
  return new Worker(source, { eval: true, workerData });
}

/** The URL of a sibling module, with the extension the calling module itself has (.ts under tsx, .js in dist). */
export function siblingModule(callerUrl: string, basename: string): URL {
  return new URL(`./${basename}${callerUrl.endsWith('.ts') ? '.ts' : '.js'}`, callerUrl);
}
