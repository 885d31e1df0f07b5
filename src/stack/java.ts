// Finds a Java runtime of at least a given major version for a stack component whose Java differs from the stack's
// (Trino 476 needs Java 24+, while Kafka and the registry run on the machine's Java 17): an explicit setting first,
// then a preferred JDK folder, then the newest suitable JDK under /usr/lib/jvm.
// Must never: pick a Java older than asked for, or download one.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { StackError } from '../shared/errors.js';

/** The major version `java -version` reports (`"25.0.3"` → 25, `"1.8.0_402"` → 8), or undefined if it does not run. */
export function javaMajorVersion(javaBin: string): number | undefined {
  const result = spawnSync(javaBin, ['-version'], { encoding: 'utf8', timeout: 30_000 });
  if (result.error || result.status !== 0) return undefined;
  const match = /version "(\d+)(?:\.(\d+))?/.exec(`${result.stderr}\n${result.stdout}`);
  if (!match) return undefined;
  const major = Number(match[1]);
  return major === 1 && match[2] !== undefined ? Number(match[2]) : major;
}

/** A `java` binary from a setting that names either the binary or a JDK folder. */
export function javaBinaryOf(setting: string): string {
  try {
    if (statSync(setting).isDirectory()) return path.join(setting, 'bin', 'java');
  } catch {
    // Not a path that exists: let the version check report it.
  }
  return setting;
}

export interface FindJavaOptions {
  /** Who needs it (for the error message). */
  component: string;
  minMajor: number;
  /** The explicit setting (a `java` binary or a JDK folder), and the variable it came from. */
  configured: string | undefined;
  envName: string;
  /** JDK folders to try first, in order, when nothing is configured. */
  preferred: readonly string[];
  /** Where JDKs are installed (searched when no preferred one fits). */
  jvmDir?: string;
}

/** The `java` binary to use; throws a StackError that lists what was found and how to fix it. */
export function findJava(options: FindJavaOptions): string {
  const { component, minMajor, envName } = options;
  if (options.configured) {
    const bin = javaBinaryOf(options.configured);
    const major = javaMajorVersion(bin);
    if (major === undefined) {
      throw new StackError(component, `${envName}=${options.configured}: \`${bin} -version\` does not run; point it at a Java ${minMajor}+ binary or JDK folder`);
    }
    if (major < minMajor) {
      throw new StackError(component, `${envName}=${options.configured} is Java ${major}, but ${component} needs Java ${minMajor} or newer`);
    }
    return bin;
  }
  const seen: string[] = [];
  for (const home of options.preferred) {
    const bin = path.join(home, 'bin', 'java');
    if (!existsSync(bin)) {
      seen.push(`${home} (absent)`);
      continue;
    }
    const major = javaMajorVersion(bin);
    if (major !== undefined && major >= minMajor) return bin;
    seen.push(`${home} (Java ${major ?? '?'})`);
  }
  const jvmDir = options.jvmDir ?? '/usr/lib/jvm';
  const found: { bin: string; major: number }[] = [];
  let homes: string[] = [];
  try {
    homes = readdirSync(jvmDir).sort();
  } catch {
    seen.push(`${jvmDir} (absent)`);
  }
  for (const name of homes) {
    const home = path.join(jvmDir, name);
    const bin = path.join(home, 'bin', 'java');
    if (options.preferred.includes(home) || !existsSync(bin)) continue;
    const major = javaMajorVersion(bin);
    if (major !== undefined && major >= minMajor) found.push({ bin, major });
    else seen.push(`${home} (Java ${major ?? '?'})`);
  }
  found.sort((a, b) => b.major - a.major);
  if (found[0]) return found[0].bin;
  throw new StackError(
    component,
    `needs Java ${minMajor} or newer, and none was found (${envName} is not set; looked at: ${seen.join(', ') || 'nothing'}). ` +
      `Install a JDK ${minMajor}+ (for example Temurin 25) under ${jvmDir}, or set ${envName}=<java binary or JDK folder>`,
  );
}
