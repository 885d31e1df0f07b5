// Starts a worker thread from one of our modules, both when running compiled JS (dist/) and under tsx in development
// and tests (a worker does not inherit tsx's loader, so a .ts module is imported through tsx's API).
// Must never: be used for modules outside this project.
import { type ResourceLimits, Worker } from 'node:worker_threads';

export function startModuleWorker(moduleUrl: URL, workerData: unknown, resourceLimits?: ResourceLimits): Worker {
  const options = { workerData, ...(resourceLimits ? { resourceLimits } : {}) };
  if (!moduleUrl.pathname.endsWith('.ts')) return new Worker(moduleUrl, options);
  const source = `import('tsx/esm/api').then(({ tsImport }) => tsImport(${JSON.stringify(moduleUrl.href)}, ${JSON.stringify(moduleUrl.href)}))`;
  return new Worker(source, { ...options, eval: true });
}

/** The URL of a sibling module, with the extension the calling module itself has (.ts under tsx, .js in dist). */
export function siblingModule(callerUrl: string, basename: string): URL {
  return new URL(`./${basename}${callerUrl.endsWith('.ts') ? '.ts' : '.js'}`, callerUrl);
}
