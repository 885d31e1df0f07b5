// Installs the incumbent of bench/kafka-connect.ts from Maven Central into the stack's cache folder: a Kafka Connect
// 3.9.2 worker (the broker's version, with reload4j as its log backend) and two plugin folders for Connect's plugin.path
// isolation — the Apache Iceberg sink (iceberg-kafka-connect with iceberg-parquet, the shaded Hadoop client its Parquet
// writer and HadoopFileIO need, and the Postgres JDBC driver for the JDBC catalog) and Apicurio's AvroConverter (reads
// the Confluent framing our producers write). Isolation, not one flat classpath: Connect ships Jackson 2.16, Iceberg
// wants 2.22 and Avro 1.12.2, the converter brings Avro 1.12.0 and its own Jackson; each plugin loads its own copies
// child-first. The plugin folders hold no org.apache.kafka or slf4j jars: the worker provides those (a second
// kafka-clients or connect-api in a plugin would shadow the runtime's classes).
// The converter is the Apicurio 2.6 line: apicurio-registry-utils-converter 3.0.9 is on Central but its parent POM
// (io.apicurio:apicurio-registry:pom:3.0.9) is not, so Maven cannot resolve its dependencies; the 2.6 client talks
// to our Apicurio 3.0.9 server through the v2 API the server still serves.
// Idempotent: a `.complete` marker (with the artifact list) ends the work; a partial install is wiped and redone.
// Must never: install outside `<stack cache>/kafka-connect-<kafka>-iceberg-<iceberg>`, or use another repository.
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DuckHouseError, StackError } from '../src/shared/errors.js';
import { javaMajorVersion } from '../src/stack/java.js';
import { KAFKA_VERSION } from '../src/stack/components/kafka.js';
import { loadStackConfig } from '../src/stack/config.js';
import { mavenCopyDependencies, requireTool } from '../src/stack/tools.js';

export const ICEBERG_CONNECT_VERSION = '1.12.0';
export const CONNECT_VERSION = KAFKA_VERSION;
export const APICURIO_CONVERTER_VERSION = '2.6.13.Final';
/** Iceberg 1.11+ is built for Java 17 (class file 61); 1.10.x was the last for Java 11. */
export const MIN_JAVA = 17;

interface Artifact {
  readonly groupId: string;
  readonly artifactId: string;
  readonly version: string;
}

const artifact = (coordinates: string): Artifact => {
  const [groupId, artifactId, version] = coordinates.split(':') as [string, string, string];
  return { groupId, artifactId, version };
};

/** Each classpath folder and the artifacts (with their runtime dependencies) it holds. */
export const CONNECT_ARTIFACTS = {
  libs: [
    `org.apache.kafka:connect-runtime:${CONNECT_VERSION}`,
    `org.apache.kafka:connect-json:${CONNECT_VERSION}`,
    `org.apache.kafka:connect-transforms:${CONNECT_VERSION}`,
    'org.slf4j:slf4j-reload4j:1.7.36',
    'ch.qos.reload4j:reload4j:1.2.25',
  ],
  'plugins/iceberg-sink': [
    `org.apache.iceberg:iceberg-kafka-connect:${ICEBERG_CONNECT_VERSION}`,
    `org.apache.iceberg:iceberg-parquet:${ICEBERG_CONNECT_VERSION}`,
    'org.apache.hadoop:hadoop-client-api:3.4.2',
    'org.apache.hadoop:hadoop-client-runtime:3.4.2',
    'org.postgresql:postgresql:42.7.8',
  ],
  'plugins/apicurio-converter': [`io.apicurio:apicurio-registry-utils-converter:${APICURIO_CONVERTER_VERSION}`],
} as const satisfies Record<string, readonly string[]>;

/** What the worker is launched with. */
export interface IcebergConnectInstall {
  readonly dir: string;
  /** The worker's `-cp` value (`<dir>/libs/*`). */
  readonly classpath: string;
  /** Connect's `plugin.path`. */
  readonly pluginPath: string;
  readonly log4jConfig: string;
  readonly java: string;
  /** Jar count and bytes on disk (Maven's ~/.m2 may have had some already: that is not a download). */
  readonly jars: number;
  readonly bytes: number;
  /** Seconds this call spent installing (0 when the marker said it was done). */
  readonly installSeconds: number;
}

const LOG4J = [
  'log4j.rootLogger=INFO, stdout',
  'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
  'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
  'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n',
  'log4j.logger.org.reflections=ERROR',
  'log4j.logger.org.apache.kafka.clients.consumer.ConsumerConfig=WARN',
  'log4j.logger.org.apache.kafka.clients.producer.ProducerConfig=WARN',
  'log4j.logger.org.apache.kafka.clients.admin.AdminClientConfig=WARN',
  'log4j.logger.org.apache.kafka.common.utils.AppInfoParser=WARN',
  'log4j.logger.org.apache.hadoop.util.NativeCodeLoader=ERROR',
  '',
].join('\n');

/** The folder of this version pair below the stack's cache. */
export function icebergConnectDir(): string {
  return path.join(loadStackConfig().paths.cacheDir, `kafka-connect-${CONNECT_VERSION}-iceberg-${ICEBERG_CONNECT_VERSION}`);
}

/** The stack's Java (DUCKHOUSE_JAVA / JAVA_HOME / java), checked to be Java 17 or newer. */
function connectJava(): string {
  const java = requireTool('kafka-connect', loadStackConfig().javaBin, 'install Java 17 or set DUCKHOUSE_JAVA');
  const major = javaMajorVersion(java);
  if (major === undefined || major < MIN_JAVA) {
    throw new StackError('kafka-connect', `iceberg-kafka-connect ${ICEBERG_CONNECT_VERSION} needs Java ${MIN_JAVA}+, but \`${java} -version\` reports ${major ?? 'nothing'}; set DUCKHOUSE_JAVA`);
  }
  return java;
}

/**
 * One folder's jars. Plugin folders exclude org.apache.kafka (and slf4j, which Connect never isolates) from every
 * dependency's tree: the worker's own copies must be the only ones.
 */
async function copyDependencies(folder: string, coordinates: readonly string[], dir: string, logFile: string): Promise<void> {
  const name = folder.replace(/\W+/g, '-');
  const exclude = folder === 'libs' ? [] : ['org.apache.kafka', 'org.slf4j'];
  await mavenCopyDependencies(`kafka-connect-${name}`, coordinates.map(artifact), path.join(dir, 'poms', name), path.join(dir, folder), logFile, exclude);
}

async function folderSize(dir: string): Promise<{ jars: number; bytes: number }> {
  let jars = 0;
  let bytes = 0;
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.jar')) continue;
    jars++;
    bytes += (await stat(path.join(entry.parentPath, entry.name))).size;
  }
  return { jars, bytes };
}

/** Installs (once) Kafka Connect, the Iceberg sink and the Apicurio converter; `log` hears progress lines. */
export async function installIcebergConnect(log: (line: string) => void = () => undefined): Promise<IcebergConnectInstall> {
  const java = connectJava();
  const config = loadStackConfig();
  const dir = icebergConnectDir();
  const marker = path.join(dir, '.complete');
  const logFile = path.join(config.paths.logDir, `kafka-connect-${CONNECT_VERSION}-iceberg-${ICEBERG_CONNECT_VERSION}-install.log`);
  const started = performance.now();
  let installed = false;
  if (!existsSync(marker)) {
    log(`installing Kafka Connect ${CONNECT_VERSION} + iceberg-kafka-connect ${ICEBERG_CONNECT_VERSION} + Apicurio converter ${APICURIO_CONVERTER_VERSION} from Maven Central into ${dir} (log: ${logFile})…`);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    for (const [folder, coordinates] of Object.entries(CONNECT_ARTIFACTS)) {
      log(`  ${folder}: ${coordinates.join(', ')}`);
      await copyDependencies(folder, coordinates, dir, logFile);
    }
    await writeFile(path.join(dir, 'log4j.properties'), LOG4J);
    await writeFile(marker, `${JSON.stringify({ installedAt: new Date().toISOString(), artifacts: CONNECT_ARTIFACTS }, null, 2)}\n`);
    installed = true;
  }
  const libs = path.join(dir, 'libs');
  if (!existsSync(path.join(dir, 'plugins', 'iceberg-sink')) || !existsSync(libs)) {
    throw new DuckHouseError('stack', `${dir} has a .complete marker but no libs/ or plugins/: remove the folder and run again`);
  }
  const size = await folderSize(dir);
  const installSeconds = installed ? (performance.now() - started) / 1000 : 0;
  if (installed) log(`  installed ${size.jars} jars, ${(size.bytes / 1048576).toFixed(0)} MB, in ${installSeconds.toFixed(1)} s`);
  return {
    dir,
    classpath: `${libs}/*`,
    pluginPath: path.join(dir, 'plugins'),
    log4jConfig: path.join(dir, 'log4j.properties'),
    java,
    ...size,
    installSeconds,
  };
}
