// Serves the metrics registry (metrics.ts) to Prometheus: startMetricsServer() is a bare node:http listener for the
// processes that have no HTTP server of their own (sink, workers, CDC producer): GET /metrics (text exposition format),
// GET /healthz ("ok"), 404 for anything else. metricsText() gives the same exposition to a server that has one (the
// fastify API: `reply.type(METRICS_CONTENT_TYPE).send(await metricsText())`). Both switch the process metrics on.
// Must never: listen on anything but the host it was given (default 127.0.0.1), or keep the process alive after close().
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { DuckHouseError, describeError } from './errors.js';
import { enableProcessMetrics, metricsRegistry } from './metrics.js';

/** The Content-Type of metricsText() (Prometheus text exposition format 0.0.4). */
export const METRICS_CONTENT_TYPE = metricsRegistry.contentType;

export interface MetricsServerOptions {
  /** Interface to listen on (default 127.0.0.1; `0.0.0.0` or `::` to be scraped from other hosts). */
  readonly host?: string;
  /** Port (0: a free one, see `url`). */
  readonly port: number;
  /** Default: the DuckHouse registry. */
  readonly registry?: Registry;
}

export interface MetricsServer {
  /** `http://host:port` (the port actually bound). */
  readonly url: string;
  /** Stops listening and closes open connections. */
  close(): Promise<void>;
}

/** The exposition text of the registry (default: DuckHouse's, process metrics included). */
export async function metricsText(registry: Registry = metricsRegistry): Promise<string> {
  enableProcessMetrics(registry);
  return registry.metrics();
}

function respond(response: ServerResponse, status: number, contentType: string, body: string): void {
  response.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  response.end(response.req.method === 'HEAD' ? undefined : body);
}

async function handle(registry: Registry, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const pathname = new URL(request.url ?? '/', 'http://metrics').pathname;
  const readable = request.method === 'GET' || request.method === 'HEAD';
  if (readable && pathname === '/metrics') {
    try {
      respond(response, 200, registry.contentType, await metricsText(registry));
    } catch (error) {
      respond(response, 500, 'text/plain; charset=utf-8', `metrics could not be collected: ${describeError(error)}\n`);
    }
  } else if (readable && pathname === '/healthz') {
    respond(response, 200, 'text/plain; charset=utf-8', 'ok\n');
  } else {
    respond(response, 404, 'text/plain; charset=utf-8', 'not found: GET /metrics or /healthz\n');
  }
}

/** Starts an HTTP server exposing the registry at /metrics; resolves once it listens. */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const host = options.host ?? '127.0.0.1';
  const registry = options.registry ?? metricsRegistry;
  enableProcessMetrics(registry);
  const server = createServer((request, response) => void handle(registry, request, response));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const hint = error.code === 'EADDRINUSE' ? ' (the port is in use: pick another one, or 0 for a free one)' : '';
      reject(new DuckHouseError('config', `metrics server: cannot listen on ${host}:${options.port}: ${error.message}${hint}`, { cause: error, context: { host, port: options.port } }));
    });
    server.listen(options.port, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return {
    url,
    close: () => new Promise<void>((resolve, reject) => {
      server.close((error) => (error ? reject(error) : resolve()));
      server.closeAllConnections();
    }),
  };
}
