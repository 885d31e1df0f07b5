// Streams a CSV file as records with their line numbers, in bounded memory, through csv-parse; a malformed record
// (bad quoting, an unclosed quote, a record over the size limit) or a line with invalid UTF-8 becomes a reject with
// its line and reason, and reading resumes at the next physical line with a fresh parser, so no good record after
// it is lost (csv-parse's own skip mode mis-parses the records that follow a bad quote).
// Must never: drop a record silently, or hold more than one chunk plus one record in memory.
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { isUtf8 } from 'node:buffer';
import { Parser, type CsvError, type Info } from 'csv-parse';


export interface CsvReaderOptions {
  delimiter?: string;
  quote?: string;
  /** Largest record in bytes before it counts as malformed (a runaway quote); default 8 MiB. */
  maxRecordBytes?: number;
  /** Chunk size read from the file; default 256 KiB. */
  chunkBytes?: number;
}

export interface CsvRecord {
  fields: string[];
  /** First and last physical line of the record (1-based; they differ when a quoted field holds line breaks). */
  line: number;
  endLine: number;
  /** Byte offsets of the record in the file, [start, end) (start may include blank lines before it); see recordBytes. */
  start: number;
  end: number;
}

export interface CsvReject {
  line: number;
  reason: string;
  /** The rejected physical line's bytes. */
  raw: Buffer;
}

export interface CsvChunk {
  records: CsvRecord[];
  rejects: CsvReject[];
  /** Bytes of the file consumed so far. */
  bytesRead: number;
}

/** Splits `bytes` at the last complete UTF-8 character: [complete, incomplete tail]. */
function splitIncompleteUtf8(bytes: Buffer): [Buffer, Buffer] {
  for (let back = 1; back <= Math.min(3, bytes.length); back++) {
    const byte = bytes[bytes.length - back]!;
    if ((byte & 0xc0) === 0x80) continue; // continuation byte: keep looking for the lead byte
    const needed = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return needed > back ? [bytes.subarray(0, bytes.length - back), bytes.subarray(bytes.length - back)] : [bytes, Buffer.alloc(0)];
  }
  return [bytes, Buffer.alloc(0)];
}

/** Reads the physical line starting at `offset` (skipping blank lines first); returns it, its end and blanks skipped. */
async function readLineAt(file: string, offset: number): Promise<{ start: number; end: number; bytes: Buffer; blankLines: number }> {
  const handle = await open(file, 'r');
  try {
    let start = offset;
    let blankLines = 0;
    const parts: Buffer[] = [];
    let position = offset;
    for (;;) {
      const buffer = Buffer.alloc(64 * 1024);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) break;
      let chunk = buffer.subarray(0, bytesRead);
      if (parts.length === 0) {
        // Skip blank lines (\n or \r\n) before the record.
        let skip = 0;
        while (skip < chunk.length && (chunk[skip] === 0x0a || (chunk[skip] === 0x0d && chunk[skip + 1] === 0x0a))) {
          if (chunk[skip] === 0x0a) blankLines++;
          skip += chunk[skip] === 0x0d ? 2 : 1;
        }
        start += skip;
        chunk = chunk.subarray(skip);
      }
      const newline = chunk.indexOf(0x0a);
      if (newline >= 0) {
        parts.push(chunk.subarray(0, newline + 1));
        break;
      }
      parts.push(chunk);
      position += bytesRead;
    }
    const bytes = Buffer.concat(parts);
    return { start, end: start + bytes.length, bytes, blankLines };
  } finally {
    await handle.close();
  }
}

function countNewlines(text: string | Buffer): number {
  let count = 0;
  const nl = typeof text === 'string' ? '\n' : 0x0a;
  for (let i = text.indexOf(nl as never); i >= 0; i = text.indexOf(nl as never, i + 1)) count++;
  return count;
}

const clean = (raw: Buffer): Buffer => raw.subarray(0, raw.length - (raw.at(-1) === 0x0a ? (raw.at(-2) === 0x0d ? 2 : 1) : 0));

/** The bytes of a record as they are in the file, without blank lines before it and its line end (for dead letters). */
export function recordBytes(file: string, range: { start: number; end: number }): Buffer {
  const fd = openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(range.end - range.start);
    readSync(fd, buffer, 0, buffer.length, range.start);
    let skip = 0;
    while (buffer[skip] === 0x0a || (buffer[skip] === 0x0d && buffer[skip + 1] === 0x0a)) skip += buffer[skip] === 0x0d ? 2 : 1;
    return clean(buffer.subarray(skip));
  } finally {
    closeSync(fd);
  }
}

/**
 * Yields the file's records chunk by chunk. The first record is the header row (line 1). The caller consumes each
 * chunk before the next is read, which bounds memory.
 */
export async function* readCsv(file: string, options: CsvReaderOptions = {}): AsyncGenerator<CsvChunk> {
  let offset = 0;
  let lineBase = 0; // physical lines before `offset`
  let first = true;
  for (;;) {
    let records: CsvRecord[] = [];
    let rejects: CsvReject[] = [];
    let failure: CsvError | undefined;
    let lastEndBytes = 0; // bytes of this segment consumed by complete records
    let lastEndLine = 0; // segment line of the last complete record
    let lastEmpty = 0;
    let newlinesBefore = 0; // line breaks in the bytes of this segment written to the parser so far
    const invalidLines = new Set<number>();
    const parser = new Parser({
      delimiter: options.delimiter ?? ',',
      quote: options.quote ?? '"',
      bom: first,
      relax_column_count: true,
      skip_empty_lines: true,
      skip_records_with_error: true,
      max_record_size: options.maxRecordBytes ?? 8 * 1024 * 1024,
      on_record: (record: string[], context: Info) => {
        if (failure) return null;
        const line = lineBase + lastEndLine + 1 + (context.empty_lines - lastEmpty);
        let endLine = line;
        for (const field of record) endLine += countNewlines(field);
        const start = offset + lastEndBytes;
        lastEndBytes = context.bytes;
        lastEndLine = endLine - lineBase;
        lastEmpty = context.empty_lines;
        let invalid = false;
        for (let l = line; l <= endLine && invalidLines.size > 0; l++) if (invalidLines.has(l)) invalid = true;
        if (invalid) rejects.push({ line, reason: 'invalid UTF-8 (the file must be UTF-8 encoded)', raw: recordBytes(file, { start, end: offset + context.bytes }) });
        else records.push({ fields: record, line, endLine, start, end: offset + context.bytes });
        return null;
      },
    });
    parser.on('skip', (error: CsvError) => {
      failure ??= error;
    });
    parser.on('error', (error: CsvError) => {
      failure ??= error;
    });
    const stream = createReadStream(file, { start: offset, highWaterMark: options.chunkBytes ?? 256 * 1024 });
    let carry = Buffer.alloc(0);
    let consumed = offset;
    try {
      for await (const data of stream as AsyncIterable<Buffer>) {
        const [complete, tail] = splitIncompleteUtf8(carry.length > 0 ? Buffer.concat([carry, data]) : data);
        carry = Buffer.from(tail);
        if (!isUtf8(complete)) {
          // Rare path: find the physical lines with invalid bytes. The parser has seen every byte before this chunk.
          const startLine = lineBase + newlinesBefore + 1;
          let lineStart = 0;
          let line = startLine;
          while (lineStart <= complete.length) {
            const nl = complete.indexOf(0x0a, lineStart);
            const end = nl < 0 ? complete.length : nl;
            if (!isUtf8(complete.subarray(lineStart, end))) invalidLines.add(line);
            if (nl < 0) break;
            lineStart = nl + 1;
            line++;
          }
        }
        consumed += data.length;
        newlinesBefore += countNewlines(data);
        parser.write(data);
        if (failure) break;
        if (records.length > 0 || rejects.length > 0) {
          yield { records, rejects, bytesRead: consumed };
          records = [];
          rejects = [];
        }
      }
      if (!failure) {
        parser.end();
        await new Promise<void>((resolve) => {
          parser.on('end', resolve);
          parser.on('close', resolve);
          parser.resume();
        });
      }
    } finally {
      stream.destroy();
    }
    if (!failure) {
      yield { records, rejects, bytesRead: consumed };
      return;
    }
    // Reject the physical line where the bad record starts and resume after it with a new parser.
    const bad = await readLineAt(file, offset + lastEndBytes);
    const line = lineBase + lastEndLine + bad.blankLines + 1;
    rejects.push({ line, reason: describeCsvError(failure), raw: clean(bad.bytes) });
    yield { records, rejects, bytesRead: bad.end };
    if (bad.bytes.length === 0) return;
    offset = bad.end;
    lineBase = line;
    first = false;
  }
}

/** csv-parse's message without its own (segment-relative) line number. */
function describeCsvError(error: CsvError): string {
  switch (error.code) {
    case 'CSV_INVALID_CLOSING_QUOTE':
      return 'bad quoting: a quoted field must be followed by a delimiter or the end of the line';
    case 'CSV_QUOTE_NOT_CLOSED':
      return 'bad quoting: a quoted field is never closed';
    case 'CSV_MAX_RECORD_SIZE':
      return 'bad quoting or a runaway record: the record exceeds the maximum record size';
    case 'CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE':
      return 'bad quoting: characters after a closing quote';
    case 'INVALID_OPENING_QUOTE':
      return 'bad quoting: a quote inside an unquoted field';
    default:
      return `malformed CSV (${error.code}): ${error.message.replace(/ at line \d+/, '')}`;
  }
}
