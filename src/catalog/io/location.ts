// Storage locations for FileIO: which scheme a location uses, how to split `s3://bucket/key` and `file:///abs`, and
// how to join path parts onto a base. Pure string work: no IO, no percent-decoding (as PyIceberg: keys are literal).
// Must never: normalise `..` away silently into another bucket, or accept a relative local path.
import path from 'node:path';
import { DuckHouseError } from '../../shared/errors.js';

export type LocationScheme = 'file' | 's3' | 'memory';

/** URI schemes each FileIO accepts; `s3a`/`s3n` are the Hadoop spellings other engines write into metadata. */
export const S3_SCHEMES: readonly string[] = ['s3', 's3a', 's3n'];

const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):/;

/** The scheme of a location; plain absolute paths are `file`. Throws a config error for anything else. */
export function locationScheme(location: string): LocationScheme {
  const match = SCHEME.exec(location);
  if (!match) {
    if (path.isAbsolute(location)) return 'file';
    throw invalidLocation(location, 'a URI (s3://, file://, memory://) or an absolute path');
  }
  const scheme = (match[1] ?? '').toLowerCase();
  if (scheme === 'file') return 'file';
  if (scheme === 'memory') return 'memory';
  if (S3_SCHEMES.includes(scheme)) return 's3';
  throw new DuckHouseError(
    'config',
    `no FileIO for location ${location}: expected scheme s3, file or memory (or an absolute path), found ${scheme}`,
    { context: { location, scheme } },
  );
}

export interface S3Location {
  /** The scheme as written (`s3`, `s3a`, `s3n`), kept so listed locations round-trip. */
  readonly scheme: string;
  readonly bucket: string;
  /** The object key (or key prefix); may be empty for a bucket-wide prefix. */
  readonly key: string;
}

/** Splits `s3://bucket/key`. The key is taken literally (no percent-decoding). */
export function parseS3Location(location: string): S3Location {
  const match = /^([a-zA-Z0-9]+):\/\/([^/]+)(?:\/(.*))?$/s.exec(location);
  const scheme = match?.[1]?.toLowerCase();
  if (!match || scheme === undefined || !S3_SCHEMES.includes(scheme)) {
    throw invalidLocation(location, 's3://bucket/key');
  }
  return { scheme, bucket: match[2] ?? '', key: match[3] ?? '' };
}

export function formatS3Location(location: Pick<S3Location, 'scheme' | 'bucket' | 'key'>): string {
  return `${location.scheme}://${location.bucket}/${location.key}`;
}

/**
 * The absolute local path of `file:///abs`, `file:/abs` (Hadoop's spelling), `file://localhost/abs` or `/abs`.
 * Taken literally: `%20` stays `%20`, as in the metadata other engines write.
 */
export function localPathOf(location: string): string {
  let rest = location;
  if (/^file:/i.test(location)) {
    rest = location.slice('file:'.length);
    if (rest.startsWith('//')) {
      const slash = rest.indexOf('/', 2);
      const host = slash === -1 ? rest.slice(2) : rest.slice(2, slash);
      if (host !== '' && host.toLowerCase() !== 'localhost') {
        throw invalidLocation(location, 'a local file URI (file:///abs/path); found host ' + host);
      }
      rest = slash === -1 ? '' : rest.slice(slash);
    }
  }
  if (!path.isAbsolute(rest)) throw invalidLocation(location, 'an absolute local path or file:///abs/path');
  return rest;
}

/**
 * Joins parts onto a base location with single slashes: `joinLocation('s3://b/wh/', 'db', '/t/', 'x.json')` is
 * `s3://b/wh/db/t/x.json`. Empty parts are skipped; slashes inside a part are kept. A `..` or `.` segment is refused
 * (locations are compared as strings by S3 and by the catalog, so they must already be canonical).
 */
export function joinLocation(base: string, ...parts: string[]): string {
  let result = base;
  for (const part of parts) {
    const trimmed = part.replace(/^\/+/, '').replace(/\/+$/, '');
    if (trimmed === '') continue;
    if (trimmed.split('/').some((segment) => segment === '..' || segment === '.')) {
      throw invalidLocation(`${base} + ${part}`, 'path parts without . or .. segments');
    }
    result = result.endsWith('/') ? `${result}${trimmed}` : `${result}/${trimmed}`;
  }
  return result;
}

export function invalidLocation(location: string, expected: string): DuckHouseError {
  return new DuckHouseError('config', `invalid location ${JSON.stringify(location)}: expected ${expected}`, {
    context: { location },
  });
}
