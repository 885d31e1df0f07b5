import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatToken, generateToken, hashSecret, parseToken, redactToken, secretMatches, TOKEN_PREFIX } from './tokens.js';

describe('tokens', () => {
  it('have the form dhk_<12 hex>_<43 base64url characters> and parse back to their parts', () => {
    const t = generateToken();
    assert.match(t.token, /^dhk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    assert.equal(t.token, formatToken(t.tokenId, t.secret));
    assert.equal(Buffer.from(t.secret, 'base64url').length, 32);
    assert.deepEqual(parseToken(t.token), { tokenId: t.tokenId, secret: t.secret });
    assert.equal(t.secretHash.length, 32);
  });

  it('are different every time', () => {
    const tokens = new Set(Array.from({ length: 200 }, () => generateToken().token));
    assert.equal(tokens.size, 200);
  });

  it('parse a secret that contains _ and - (base64url) since the token id has a fixed length', () => {
    const secret = `_-${'a'.repeat(39)}_-`;
    assert.equal(secret.length, 43);
    assert.deepEqual(parseToken(`dhk_0123456789ab_${secret}`), { tokenId: '0123456789ab', secret });
  });

  it('parse nothing malformed', () => {
    const good = generateToken();
    const malformed: unknown[] = [
      '', 'dhk_', 'Bearer x', good.token.slice(0, -1), `${good.token}A`, ` ${good.token}`, `${good.token}\n`,
      good.token.replace(TOKEN_PREFIX, 'dhx_'), good.token.replace(TOKEN_PREFIX, 'DHK_'),
      `dhk_${good.tokenId.toUpperCase()}_${good.secret}`, `dhk_${good.tokenId.slice(1)}_${good.secret}A`,
      `dhk_${good.tokenId}-${good.secret}`, `dhk_${good.tokenId}_${good.secret.slice(0, 42)}=`, `dhk_${good.tokenId}_${good.secret.slice(0, 42)}+`,
      `dhk_${good.tokenId}_${good.secret.slice(0, 42)}é`, undefined, null, 42, {},
    ];
    for (const text of malformed) assert.equal(parseToken(text), undefined, `parsed ${JSON.stringify(text)}`);
  });

  it('match only their own stored hash', () => {
    const a = generateToken();
    const b = generateToken();
    assert.equal(secretMatches(a.secret, a.secretHash), true);
    assert.equal(secretMatches(b.secret, a.secretHash), false);
    assert.equal(secretMatches(a.secret, a.secretHash.subarray(0, 31)), false, 'a hash of another length never matches');
    assert.equal(secretMatches(a.secret, new Uint8Array(32)), false);
    assert.deepEqual(hashSecret(a.secret), a.secretHash);
    // SHA-256 of the secret's text, a known vector.
    assert.equal(hashSecret('abc').toString('hex'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('are redacted to their id in messages', () => {
    const t = generateToken();
    assert.equal(redactToken(t.token), `dhk_${t.tokenId}_…`);
    assert.equal(redactToken('secret-looking text'), '<malformed token>');
    assert.ok(!redactToken(t.token).includes(t.secret));
  });
});
