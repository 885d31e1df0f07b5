// POST /v1/oauth/tokens, the spec's (deprecated) OAuth2 client-credentials exchange, for clients configured with a
// `credential` (`<client-id>:<secret>`) instead of a `token` (Spark's and PyIceberg's `credential=`): the secret is a
// DuckHouse token, and the access token handed back is that same token. Nothing is minted or stored.
// Must never: echo a token that did not authenticate, or say why a credential failed beyond "invalid_client".
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AccessScope } from '../../../tenants/scope.js';

export function oauthTokenRoute(authenticate: (token: string) => Promise<AccessScope | undefined>) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const form = typeof request.body === 'string' ? new URLSearchParams(request.body) : new URLSearchParams();
    const fail = (status: number, error: string, description: string): FastifyReply =>
      reply.code(status).header('content-type', 'application/json').header('cache-control', 'no-store').send(JSON.stringify({ error, error_description: description }));
    if (form.get('grant_type') !== 'client_credentials') return fail(400, 'unsupported_grant_type', 'only grant_type=client_credentials is supported');
    const secret = form.get('client_secret') ?? '';
    const scope = secret === '' ? undefined : await authenticate(secret);
    if (!scope) return fail(401, 'invalid_client', 'the client secret is not a valid DuckHouse token');
    return reply.code(200).header('content-type', 'application/json').header('cache-control', 'no-store').send(JSON.stringify({
      access_token: secret,
      token_type: 'bearer',
      issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      // No expires_in: the token lives until revoked, so clients schedule no refresh (Java's would use a token
      // exchange, which this endpoint does not offer).
    }));
  };
}
