// Postgres WAL positions (LSNs): the text form `X/Y` (two hex halves, as Postgres and pg-logical-replication print
// them) ⇄ a bigint byte position, which is what the change envelope's `source.lsn` and `sequence` carry.
// PURE: no IO. Must never: lose the high half of an LSN (a JS number would above 2^53 bytes of WAL).
import { DataInvalidError } from '../../shared/errors.js';

const LSN_TEXT = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;

/** `16/B374D848` → 0x16B374D848n. Throws DataInvalidError naming `where` when the text is not an LSN. */
export function parseLsn(text: string, where = 'LSN'): bigint {
  const match = LSN_TEXT.exec(text);
  if (!match) throw new DataInvalidError(`${where}: expected an LSN like "16/B374D848", found ${JSON.stringify(text)}`, { context: { where } });
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}

/** 0x16B374D848n → `16/B374D848` (Postgres's spelling: upper-case hex, no padding). */
export function formatLsn(lsn: bigint): string {
  if (lsn < 0n || lsn > 0xffff_ffff_ffff_ffffn) throw new RangeError(`an LSN is an unsigned 64-bit position, found ${lsn}`);
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffff_ffffn).toString(16).toUpperCase()}`;
}
