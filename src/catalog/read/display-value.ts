// A value as scanRows returns it (Iceberg's physical form: unscaled decimals, microseconds since the epoch, days) →
// what a person or a JSON client expects to see: `42.00`, `2026-11-21T16:18:12.123456Z`, `2026-11-21`. 64-bit
// integers become strings in JSON only when they do not fit a double exactly.
// PURE. Must never: round a decimal or drop the microseconds of a timestamp.
import type { IcebergType } from '../spec/types.js';

const pad = (n: number | bigint, width: number): string => n.toString().padStart(width, '0');

function decimalText(unscaled: bigint, scale: number): string {
  const negative = unscaled < 0n;
  const digits = (negative ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
  const text = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  return negative ? `-${text}` : text;
}

/** Sub-second units since the epoch (`perSecond` 10^6 or 10^9) → ISO-8601 with every fractional digit. */
function timestampText(units: bigint, perSecond: bigint, zone: boolean): string {
  let seconds = units / perSecond;
  let fraction = units % perSecond;
  if (fraction < 0n) {
    fraction += perSecond;
    seconds -= 1n;
  }
  const base = new Date(Number(seconds) * 1000).toISOString().slice(0, 19);
  return `${base}.${pad(fraction, perSecond.toString().length - 1)}${zone ? 'Z' : ''}`;
}

function timeText(micros: bigint): string {
  const total = micros / 1_000_000n;
  return `${pad(total / 3600n, 2)}:${pad((total / 60n) % 60n, 2)}:${pad(total % 60n, 2)}.${pad(micros % 1_000_000n, 6)}`;
}

const asBigInt = (value: unknown): bigint => (typeof value === 'bigint' ? value : BigInt(Math.trunc(Number(value))));

/** The value for display and JSON: strings for decimals, times, dates, binary (hex) and unsafe 64-bit integers. */
export function displayValue(type: IcebergType, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (type.kind) {
    case 'decimal':
      return typeof value === 'bigint' || typeof value === 'number' ? decimalText(asBigInt(value), type.scale) : String(value);
    case 'timestamp':
    case 'timestamptz':
      return value instanceof Date ? value.toISOString() : timestampText(asBigInt(value), 1_000_000n, type.kind === 'timestamptz');
    case 'timestamp_ns':
    case 'timestamptz_ns':
      return timestampText(asBigInt(value), 1_000_000_000n, type.kind === 'timestamptz_ns');
    case 'date':
      return typeof value === 'number' ? new Date(value * 86_400_000).toISOString().slice(0, 10) : String(value);
    case 'time':
      return timeText(asBigInt(value));
    case 'long':
      return typeof value === 'bigint' && value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(value) : String(value);
    case 'binary':
    case 'fixed':
      return value instanceof Uint8Array ? Buffer.from(value).toString('hex') : String(value);
    case 'uuid':
      if (value instanceof Uint8Array) {
        const hex = Buffer.from(value).toString('hex');
        return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
      }
      return String(value);
    case 'struct': {
      const record = value as Record<string, unknown>;
      return Object.fromEntries(type.fields.map((f) => [f.name, displayValue(f.type, record[f.name])]));
    }
    case 'list':
      return (value as unknown[]).map((v) => displayValue(type.element, v));
    case 'map': {
      const entries = value instanceof Map ? [...value.entries()] : Array.isArray(value) ? (value as [unknown, unknown][]) : Object.entries(value as object);
      return entries.map(([k, v]) => ({ key: displayValue(type.key, k), value: displayValue(type.value, v) }));
    }
    default:
      return typeof value === 'bigint' ? String(value) : value;
  }
}

/** A scanned row with each column shown per its field's type (columns the fields do not name pass through). */
export function displayRow(fields: readonly { name: string; type: IcebergType }[], row: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const types = new Map(fields.map((f) => [f.name, f.type]));
  for (const [name, value] of Object.entries(row)) {
    const type = types.get(name);
    out[name] = type ? displayValue(type, value) : value;
  }
  return out;
}
