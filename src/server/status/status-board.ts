// The BullMQ queue board (bull-board) mounted under the status routes, for administrators only: queues hold every
// tenant's jobs, so a tenant gets 403 (read-only mode would still show them). The UI's assets are served from
// node_modules (@bull-board/ui); its page's one external reference, a Google Fonts stylesheet, is stripped so the
// board renders offline with system fonts.
// Must never: answer a request that is not an administrator's, or load anything from another host.
import { createBullBoard } from '@bull-board/api';
import type { IServerAdapter } from '@bull-board/api/typings/app';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import { Queue } from 'bullmq';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import { queueNames } from '../../compactor/queues.js';
import type { AccessScope } from '../../tenants/scope.js';
import { escapeHtml } from './status-format.js';
// The `request.duckhouseScope` declaration lives with the REST catalog routes; importing its types brings it in.
import type {} from '../../catalog/catalogs/rest-server/rest-routes.js';

export interface QueueBoardOptions {
  readonly redis: Redis;
  readonly prefix: string;
  /** Absolute URL path the board is served under (its links and assets are relative to it). */
  readonly basePath: string;
  /** Hides retry/clean/remove actions from administrators too. Default false. */
  readonly readOnly?: boolean;
}

const FONT_LINK = /<link[^>]+href="https:\/\/fonts\.googleapis\.com[^"]*"[^>]*>/g;

/** Replies 401/403 unless the request acts for an administrator; true when it may go on. */
export function requireAdmin(request: FastifyRequest, reply: FastifyReply, what: string): boolean {
  const scope: AccessScope | undefined = request.duckhouseScope;
  if (scope?.kind === 'admin') return true;
  const status = scope === undefined ? 401 : 403;
  const message = scope === undefined
    ? `${what} needs an administrator's session or token: sign in first`
    : `${what} shows every tenant's jobs, so it is for administrators only; tenant ${scope.tenant.id} can see its tables on the status page`;
  const wantsHtml = (request.headers.accept ?? '').includes('text/html');
  void reply.code(status).header('cache-control', 'no-store');
  if (wantsHtml) {
    void reply.type('text/html; charset=utf-8').send(`<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${status} · DuckHouse</title></head><body style="font-family:system-ui,sans-serif;margin:40px"><h1>${status === 401 ? 'Sign in needed' : 'Administrators only'}</h1><p id="message">${escapeHtml(message)}</p></body></html>`);
  } else {
    void reply.send({ statusCode: status, error: status === 401 ? 'Unauthorized' : 'Forbidden', message });
  }
  return false;
}

/**
 * Registers the board in `app` (an encapsulated context: use it as the body of `app.register`, with the prefix the
 * board is served under). The queues it opens are closed when the app closes.
 */
export async function mountQueueBoard(app: FastifyInstance, options: QueueBoardOptions): Promise<void> {
  const queues = Object.values(queueNames(options.prefix)).map((name) => new Queue(name, { connection: options.redis }));
  // Connection errors reach the board's API calls as failed requests; unheard, BullMQ would print each one.
  for (const queue of queues) queue.on('error', () => undefined);
  app.addHook('onClose', async () => {
    await Promise.all(queues.map((q) => q.close().catch(() => undefined)));
  });
  app.addHook('onRequest', async (request, reply) => {
    if (!requireAdmin(request, reply, 'The queue board')) return reply;
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    const type = String(reply.getHeader('content-type') ?? '');
    return typeof payload === 'string' && type.startsWith('text/html') ? payload.replace(FONT_LINK, '') : payload;
  });
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(options.basePath);
  createBullBoard({
    queues: queues.map((q) => new BullMQAdapter(q, { readOnlyMode: options.readOnly === true })),
    // @bull-board/fastify 9.10.1 pins its own @bull-board/api 9.10.1 (same API; the root 9.10.2 serves the UI): only the
    // two copies' type declarations differ.
    serverAdapter: serverAdapter as unknown as IServerAdapter,
    options: { uiConfig: { boardTitle: 'DuckHouse queues' } },
  });
  await app.register(serverAdapter.registerPlugin());
}
