// Who is calling the HTTP API and the status page: a bearer token (`Authorization: Bearer dhk_…`, from
// `duckhouse tenant create|token`, or $DUCKHOUSE_ADMIN_TOKEN) or, for browsers, the same token kept in an HttpOnly,
// SameSite=Strict cookie set by the login form at /login. Sets `request.duckhouseScope`; routes marked
// `config: { public: true }` skip it. A browser asking for a page without a session is sent to /login; anything else
// gets 401 with the API's error body.
// Must never: log a token, put one in a URL, accept a cookie-authenticated write from another origin, or redirect
// after login to anything but a path on this server.
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AccessScope } from '../tenants/scope.js';
import { ApiError } from '../shared/api-error.js';
// `request.duckhouseScope` is declared with the REST catalog routes, which read bearer tokens the same way.
import { bearerToken } from '../catalog/catalogs/rest-server/rest-routes.js';

export const SESSION_COOKIE = 'duckhouse_session';
const SESSION_SECONDS = 12 * 3600;

export interface AuthOptions {
  authenticate: (token: string) => Promise<AccessScope | undefined>;
  /** Paths below these need no token (pages that hold no data, such as the API browser). */
  publicPrefixes?: readonly string[];
}

const wantsPage = (request: FastifyRequest): boolean => request.method === 'GET' && (request.headers.accept ?? '').includes('text/html');

/** A same-server path to return to after login (never `//host` or a URL). */
export function safeNext(next: unknown): string {
  return typeof next === 'string' && /^\/(?![/\\])[^\s]*$/.test(next) ? next : '/status';
}

/** A cookie-borne write must come from this server's own pages (the cookie is SameSite=Strict too). */
function sameOrigin(request: FastifyRequest): boolean {
  const origin = request.headers.origin ?? request.headers.referer;
  if (origin === undefined) return request.headers['sec-fetch-site'] === undefined || request.headers['sec-fetch-site'] === 'same-origin';
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function loginPage(next: string, failed: boolean): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>DuckHouse — sign in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:15px/1.5 system-ui,sans-serif;background:#f5f6f8;color:#1d2330;display:grid;place-items:center;min-height:90vh;margin:0}
form{background:#fff;padding:2rem 2.2rem;border-radius:10px;box-shadow:0 2px 12px #0001;width:min(26rem,90vw)}
h1{font-size:1.3rem;margin:0 0 .3rem}p{color:#5b6475;margin:.2rem 0 1rem}input{width:100%;box-sizing:border-box;padding:.55rem .7rem;font:inherit;border:1px solid #c6ccd8;border-radius:6px}
button{margin-top:1rem;padding:.55rem 1.2rem;font:inherit;border:0;border-radius:6px;background:#2f6fde;color:#fff;cursor:pointer}.err{color:#b42318}</style></head>
<body><form method="post" action="/login"><h1>DuckHouse</h1><p>Sign in with an API token (<code>duckhouse tenant token</code>).</p>
${failed ? '<p class="err" role="alert">That token is not valid (unknown, revoked, or its tenant is being deleted).</p>' : ''}
<label for="token">Token</label><input id="token" name="token" type="password" autocomplete="off" required autofocus>
<input type="hidden" name="next" value="${escapeHtml(next)}"><button type="submit">Sign in</button></form></body></html>`;
}

/** Registers cookie and form parsing, the login/logout routes and the authentication hook on `app`'s context. */
export async function registerAuth(app: FastifyInstance, options: AuthOptions): Promise<void> {
  await app.register(cookie);
  await app.register(formbody, { bodyLimit: 16 * 1024 });
  if (!app.hasRequestDecorator('duckhouseScope')) app.decorateRequest('duckhouseScope', undefined);

  const isPublic = (request: FastifyRequest): boolean => {
    if ((request.routeOptions.config as { public?: boolean } | undefined)?.public) return true;
    const pathname = request.url.split('?')[0] ?? '';
    return (options.publicPrefixes ?? []).some((prefix) => pathname === prefix || pathname.startsWith(`${prefix}/`));
  };

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    if (isPublic(request)) return;
    const bearer = bearerToken(request);
    const fromCookie = bearer === undefined ? request.cookies[SESSION_COOKIE] : undefined;
    const token = bearer ?? fromCookie;
    const scope = token === undefined ? undefined : await options.authenticate(token);
    if (!scope) {
      if (wantsPage(request)) return reply.redirect(`/login?next=${encodeURIComponent(request.url)}`, 303);
      reply.header('www-authenticate', 'Bearer realm="duckhouse"');
      throw new ApiError(401, 'Unauthorized', token === undefined
        ? 'missing credentials: send Authorization: Bearer <token> (or sign in at /login)'
        : 'the token is not valid (unknown, revoked, or its tenant is being deleted)');
    }
    if (fromCookie !== undefined && !['GET', 'HEAD', 'OPTIONS'].includes(request.method) && !sameOrigin(request)) {
      throw new ApiError(403, 'Forbidden', 'a write with a session cookie must come from this server\'s own pages; scripts send Authorization: Bearer <token>');
    }
    request.duckhouseScope = scope;
  });

  app.get('/login', { config: { public: true }, schema: { hide: true } as object }, async (request, reply) => {
    const query = request.query as { next?: string; failed?: string };
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(loginPage(safeNext(query.next), query.failed === '1'));
  });

  app.post('/login', { config: { public: true }, schema: { hide: true } as object }, async (request, reply) => {
    const body = (request.body ?? {}) as { token?: string; next?: string };
    const next = safeNext(body.next);
    const token = typeof body.token === 'string' ? body.token.trim() : '';
    const scope = token === '' ? undefined : await options.authenticate(token);
    if (!scope) return reply.redirect(`/login?failed=1&next=${encodeURIComponent(next)}`, 303);
    reply.setCookie(SESSION_COOKIE, token, { path: '/', httpOnly: true, sameSite: 'strict', secure: request.protocol === 'https', maxAge: SESSION_SECONDS });
    return reply.redirect(next, 303);
  });

  app.post('/logout', { config: { public: true }, schema: { hide: true } as object }, async (_request, reply) => {
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return reply.redirect('/login', 303);
  });
}
