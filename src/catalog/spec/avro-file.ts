// Avro object container files (Avro 1.11 spec "Object Container Files") on top of avsc's type codecs, so the header
// embeds our raw schema JSON unchanged (Iceberg readers need `field-id`, `element-id` and map logical types, which
// avsc strips when it writes a header itself) and Avro `long` is a BigInt (snapshot ids use all 64 bits).
// PURE: bytes in, bytes out. The sync marker is passed in or derived from the content, never random.
import { createHash } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import avro from 'avsc';
import { MetadataInvalidError } from '../../shared/errors.js';

const MAGIC = Buffer.from([0x4f, 0x62, 0x6a, 0x01]);

/** avsc long type whose JS form is bigint (exact over the whole 64-bit range). */
const bigLong = avro.types.LongType.__with({
  fromBuffer: (buf: Buffer) => buf.readBigInt64LE(),
  toBuffer: (n: bigint) => {
    const buf = Buffer.alloc(8);
    buf.writeBigInt64LE(n);
    return buf;
  },
  fromJSON: (json: unknown) => BigInt(json as number),
  toJSON: (n: bigint) => Number(n),
  isValid: (n: unknown) => typeof n === 'bigint',
  compare: (a: bigint, b: bigint) => (a === b ? 0 : a < b ? -1 : 1),
});

export type AvroSchema = Record<string, unknown> | string | unknown[];

/** Compiled types by schema text: a table's manifests share a handful of schemas, and compiling one is costly. */
const TYPES = new Map<string, avro.Type>();
const MAX_CACHED_TYPES = 256;

export function avroType(schema: AvroSchema): avro.Type {
  const text = JSON.stringify(schema);
  let type = TYPES.get(text);
  if (!type) {
    type = avro.Type.forSchema(schema as avro.Schema, { registry: { long: bigLong } });
    if (TYPES.size >= MAX_CACHED_TYPES) TYPES.delete(TYPES.keys().next().value!);
    TYPES.set(text, type);
  }
  return type;
}

const HEADER = avro.Type.forSchema({
  type: 'record',
  name: 'org.apache.avro.file.Header',
  fields: [
    { name: 'magic', type: { type: 'fixed', name: 'Magic', size: 4 } },
    { name: 'meta', type: { type: 'map', values: 'bytes' } },
    { name: 'sync', type: { type: 'fixed', name: 'Sync', size: 16 } },
  ],
});

export interface AvroFileContent {
  schema: AvroSchema;
  metadata: Record<string, string>;
  records: unknown[];
}

/** Encodes records into a deflate-compressed container file, blocks of at most `blockRecords` records. */
export function writeAvroFile(content: AvroFileContent, options: { blockRecords?: number } = {}): Uint8Array {
  const schemaJson = JSON.stringify(content.schema);
  const type = avroType(content.schema);
  const meta: Record<string, Buffer> = {};
  for (const [key, value] of Object.entries(content.metadata)) meta[key] = Buffer.from(value, 'utf8');
  meta['avro.schema'] = Buffer.from(schemaJson, 'utf8');
  meta['avro.codec'] = Buffer.from('deflate', 'utf8');
  const encoded = content.records.map((record, index) => {
    try {
      return type.toBuffer(record);
    } catch (error) {
      throw new MetadataInvalidError(`avro record ${index} does not match its schema: ${(error as Error).message}`, { cause: error });
    }
  });
  const sync = createHash('md5').update(schemaJson).update(Buffer.concat(encoded)).digest();
  const parts: Buffer[] = [HEADER.toBuffer({ magic: MAGIC, meta, sync })];
  const size = options.blockRecords ?? 10_000;
  for (let start = 0; start < encoded.length; start += size) {
    const block = encoded.slice(start, start + size);
    const data = deflateRawSync(Buffer.concat(block));
    parts.push(zigzagLong(block.length), zigzagLong(data.length), data, sync);
  }
  return Buffer.concat(parts);
}

/** Decodes a container file with its own (writer) schema; `file` names it in errors. */
export function readAvroFile(bytes: Uint8Array, file: string): AvroFileContent {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fail = (what: string, cause?: unknown): never => {
    throw new MetadataInvalidError(`${file}: not a valid Avro file (${what})`, { cause, context: { file } });
  };
  if (buf.length < 4 || !buf.subarray(0, 4).equals(MAGIC)) fail('bad magic bytes');
  let header: { meta: Record<string, Buffer>; sync: Buffer };
  let pos: number;
  try {
    const decoded = HEADER.decode(buf, 0);
    if (decoded.offset < 0) fail('truncated header');
    header = decoded.value as typeof header;
    pos = decoded.offset;
  } catch (error) {
    return fail('unreadable header', error);
  }
  const metadata: Record<string, string> = {};
  for (const [key, value] of Object.entries(header.meta)) metadata[key] = value.toString('utf8');
  const codec = metadata['avro.codec'] ?? 'null';
  if (codec !== 'null' && codec !== 'deflate') fail(`codec "${codec}" is not supported; expected null or deflate`);
  let schema: AvroSchema;
  let type: avro.Type;
  try {
    schema = JSON.parse(metadata['avro.schema'] ?? '') as AvroSchema;
    type = avroType(schema);
  } catch (error) {
    return fail('unreadable schema', error);
  }
  const records: unknown[] = [];
  while (pos < buf.length) {
    const count = readZigzag(buf, pos, fail);
    const size = readZigzag(buf, count.next, fail);
    const start = size.next;
    const end = start + Number(size.value);
    if (end + 16 > buf.length) fail(`block at byte ${pos} is truncated`);
    let data: Buffer;
    try {
      data = codec === 'deflate' ? inflateRawSync(buf.subarray(start, end)) : buf.subarray(start, end);
    } catch (error) {
      return fail(`block at byte ${pos} does not inflate`, error);
    }
    if (!buf.subarray(end, end + 16).equals(header.sync)) fail(`block at byte ${pos} has a wrong sync marker`);
    let offset = 0;
    for (let i = 0n; i < count.value; i++) {
      let decoded: { value: unknown; offset: number };
      try {
        decoded = type.decode(data, offset);
      } catch (error) {
        return fail(`record ${records.length} does not decode`, error);
      }
      if (decoded.offset < 0) fail(`record ${records.length} is truncated`);
      records.push(decoded.value);
      offset = decoded.offset;
    }
    pos = end + 16;
  }
  return { schema, metadata, records };
}

function zigzagLong(value: number): Buffer {
  const bytes: number[] = [];
  let n = (BigInt(value) << 1n) ^ (BigInt(value) >> 63n);
  do {
    let byte = Number(n & 0x7fn);
    n >>= 7n;
    if (n > 0n) byte |= 0x80;
    bytes.push(byte);
  } while (n > 0n);
  return Buffer.from(bytes);
}

function readZigzag(buf: Buffer, pos: number, fail: (what: string) => never): { value: bigint; next: number } {
  let result = 0n;
  let shift = 0n;
  for (let i = pos; i < buf.length && i < pos + 10; i++) {
    const byte = buf[i]!;
    result |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return { value: (result >> 1n) ^ -(result & 1n), next: i + 1 };
    shift += 7n;
  }
  return fail(`truncated block header at byte ${pos}`);
}
