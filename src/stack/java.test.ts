import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { StackError } from '../shared/errors.js';
import { findJava, javaMajorVersion } from './java.js';

let jvmDir: string;

/** A fake JDK whose `java -version` prints `version` the way real JDKs do (on stderr). */
async function fakeJdk(name: string, version: string): Promise<string> {
  const bin = path.join(jvmDir, name, 'bin');
  await mkdir(bin, { recursive: true });
  const java = path.join(bin, 'java');
  await writeFile(java, `#!/bin/sh\necho 'openjdk version "${version}" 2026-04-21' >&2\n`);
  await chmod(java, 0o755);
  return path.join(jvmDir, name);
}

before(async () => {
  jvmDir = await mkdtemp(path.join(tmpdir(), 'duckhouse-jvm-'));
  await fakeJdk('java-17-openjdk-amd64', '17.0.15');
  await fakeJdk('temurin-24-jdk-amd64', '24.0.2');
  await fakeJdk('temurin-25-jdk-amd64', '25.0.3');
  await fakeJdk('legacy-8', '1.8.0_402');
});

after(() => rm(jvmDir, { recursive: true, force: true }));

const options = (extra: Partial<Parameters<typeof findJava>[0]> = {}): Parameters<typeof findJava>[0] => ({
  component: 'trino',
  minMajor: 24,
  configured: undefined,
  envName: 'DUCKHOUSE_TRINO_JAVA',
  preferred: [],
  jvmDir,
  ...extra,
});

test('java -version is read as a major version, old 1.x numbering included', () => {
  assert.equal(javaMajorVersion(path.join(jvmDir, 'temurin-25-jdk-amd64', 'bin', 'java')), 25);
  assert.equal(javaMajorVersion(path.join(jvmDir, 'legacy-8', 'bin', 'java')), 8);
  assert.equal(javaMajorVersion(path.join(jvmDir, 'missing', 'bin', 'java')), undefined);
});

test('without a setting: the preferred JDK when it is new enough, else the newest suitable one under the JVM folder', () => {
  const preferred = path.join(jvmDir, 'temurin-24-jdk-amd64');
  assert.equal(findJava(options({ preferred: [preferred] })), path.join(preferred, 'bin', 'java'));
  assert.equal(findJava(options({ preferred: ['/nowhere/jdk'] })), path.join(jvmDir, 'temurin-25-jdk-amd64', 'bin', 'java'));
});

test('the setting wins and may name a JDK folder or a java binary; an old or broken one is refused by name', () => {
  const home = path.join(jvmDir, 'temurin-24-jdk-amd64');
  assert.equal(findJava(options({ configured: home })), path.join(home, 'bin', 'java'));
  assert.equal(findJava(options({ configured: path.join(home, 'bin', 'java') })), path.join(home, 'bin', 'java'));
  assert.throws(() => findJava(options({ configured: path.join(jvmDir, 'java-17-openjdk-amd64') })), /DUCKHOUSE_TRINO_JAVA=.* is Java 17, but trino needs Java 24 or newer/);
  assert.throws(() => findJava(options({ configured: '/nowhere/java' })), /DUCKHOUSE_TRINO_JAVA=\/nowhere\/java: `\/nowhere\/java -version` does not run/);
});

test('no suitable JDK: a StackError that lists what was found and names the variable', () => {
  assert.throws(
    () => findJava(options({ minMajor: 26, preferred: ['/nowhere/jdk'] })),
    (error: unknown) =>
      error instanceof StackError &&
      error.component === 'trino' &&
      error.message.includes('needs Java 26 or newer') &&
      error.message.includes('temurin-25-jdk-amd64 (Java 25)') &&
      error.message.includes('/nowhere/jdk (absent)') &&
      error.message.includes('DUCKHOUSE_TRINO_JAVA=<java binary or JDK folder>'),
  );
});
