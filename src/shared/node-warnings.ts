// Silences one known, non-actionable warning: the AWS SDK's NodeVersionSupportWarning about its future Node 22
// requirement (we run Node 20, which the pinned SDK supports). Every other warning still prints.
const original = process.emitWarning.bind(process);

export function silenceKnownWarnings(): void {
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const name = typeof warning === 'string' ? (typeof rest[0] === 'string' ? rest[0] : (rest[0] as { type?: string })?.type) : warning.name;
    const text = typeof warning === 'string' ? warning : warning.message;
    if (name === 'NodeVersionSupportWarning' || text.includes('will require node >=22')) return;
    (original as (...args: unknown[]) => void)(warning, ...rest);
  }) as typeof process.emitWarning;
}
