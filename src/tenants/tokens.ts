// Bearer tokens of DuckHouse: `dhk_<tokenId>_<secret>`, tokenId = 12 hex characters (public: it names the token in
// lists and logs), secret = 32 random bytes in base64url (256 bits). Only the SHA-256 of the secret is stored.
// A plain fast hash is enough here, as for GitHub or Stripe keys: the secret is random and high-entropy, so there is
// no dictionary to try and a slow password hash (scrypt, argon2) would only slow every request down. Hashes are
// compared with crypto.timingSafeEqual.
// PURE apart from randomness. Must never: log, store or echo a secret or a whole token (`redactToken` for messages).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const TOKEN_PREFIX = 'dhk_';
const TOKEN_ID_BYTES = 6;
const SECRET_BYTES = 32;
/** base64url of 32 bytes, without padding. */
const SECRET_CHARS = 43;
const TOKEN = /^dhk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

export interface ParsedToken {
  readonly tokenId: string;
  readonly secret: string;
}

export interface NewToken extends ParsedToken {
  /** The whole token: shown to its owner once, never stored. */
  readonly token: string;
  /** SHA-256 of the secret: what is stored. */
  readonly secretHash: Buffer;
}

export const newTokenId = (): string => randomBytes(TOKEN_ID_BYTES).toString('hex');

export const formatToken = (tokenId: string, secret: string): string => `${TOKEN_PREFIX}${tokenId}_${secret}`;

/** A fresh token with a new id (or `tokenId`, to retry with another after an id collision). */
export function generateToken(tokenId: string = newTokenId()): NewToken {
  const secret = randomBytes(SECRET_BYTES).toString('base64url');
  return { tokenId, secret, token: formatToken(tokenId, secret), secretHash: hashSecret(secret) };
}

/** The parts of a well-formed token; undefined for anything else (never throws, never echoes the input). */
export function parseToken(text: unknown): ParsedToken | undefined {
  if (typeof text !== 'string' || text.length !== TOKEN_PREFIX.length + TOKEN_ID_BYTES * 2 + 1 + SECRET_CHARS) return undefined;
  const match = TOKEN.exec(text);
  if (!match) return undefined;
  return { tokenId: match[1]!, secret: match[2]! };
}

/** SHA-256 of the secret's text. */
export function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

/** True when `secret` hashes to `storedHash` (constant time in the hash bytes). */
export function secretMatches(secret: string, storedHash: Uint8Array): boolean {
  const hash = hashSecret(secret);
  return storedHash.length === hash.length && timingSafeEqual(hash, storedHash);
}

/** A token as it may appear in a message: `dhk_<tokenId>_…` when well-formed, else `<malformed token>`. */
export function redactToken(text: string): string {
  const parsed = parseToken(text);
  return parsed ? `${TOKEN_PREFIX}${parsed.tokenId}_…` : '<malformed token>';
}
