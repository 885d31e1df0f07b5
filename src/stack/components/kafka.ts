// Apache Kafka 3.9.x as a single-node KRaft broker+controller, assembled from Maven Central jars (the published POM has
// no logging backend, so reload4j is added) and run with `java -cp libs/*` the way Kafka's own scripts do.
// PLAINTEXT on loopback only. Kafka 4.x is out: kafkajs 2.2.4 speaks protocol versions 4.x removed (KIP-896).
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import type { Component, ComponentContext } from '../component.js';
import { mavenCopyDependencies, requireTool, runLogged } from '../tools.js';

export const KAFKA_VERSION = '3.9.2';

const CLASSPATH_DEPENDENCIES = [
  { groupId: 'org.apache.kafka', artifactId: 'kafka_2.13', version: KAFKA_VERSION },
  { groupId: 'org.slf4j', artifactId: 'slf4j-reload4j', version: '1.7.36' },
  { groupId: 'ch.qos.reload4j', artifactId: 'reload4j', version: '1.2.25' },
];

function serverProperties(ctx: ComponentContext, logDirs: string): string {
  const { kafka, kafkaController } = ctx.config.ports;
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${kafkaController}`,
    `listeners=PLAINTEXT://127.0.0.1:${kafka},CONTROLLER://127.0.0.1:${kafkaController}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${kafka}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    `log.dirs=${logDirs}`,
    'num.partitions=1',
    'default.replication.factor=1',
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=10',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    'auto.create.topics.enable=true',
    'delete.topic.enable=true',
    'log.retention.hours=168',
    '',
  ].join('\n');
}

const LOG4J = [
  'log4j.rootLogger=INFO, stdout',
  'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
  'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
  'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n',
  'log4j.logger.kafka=INFO',
  'log4j.logger.org.apache.kafka=INFO',
  'log4j.logger.kafka.request.logger=WARN',
  'log4j.logger.state.change.logger=WARN',
  '',
].join('\n');

/** A Kafka cluster id: 16 random bytes in URL-safe base64 without padding, as `kafka-storage random-uuid` makes. */
function clusterId(): string {
  return randomBytes(16).toString('base64url');
}

export const kafka: Component = {
  name: 'kafka',
  title: `Kafka ${KAFKA_VERSION} (KRaft)`,
  ports: ['kafka', 'kafkaController'],
  dependsOn: [],
  stopSignal: 'SIGTERM',
  installKey: () => KAFKA_VERSION,

  async install(ctx, dir) {
    requireTool('kafka', 'java', 'install Java 17: apt-get install openjdk-17-jre-headless');
    ctx.progress(`fetching kafka_2.13 ${KAFKA_VERSION} and its runtime classpath from Maven Central…`);
    await mavenCopyDependencies('kafka', CLASSPATH_DEPENDENCIES, path.join(dir, 'pom'), path.join(dir, 'libs'), ctx.installLogFile);
    await writeFile(path.join(dir, 'log4j.properties'), LOG4J);
  },

  async launch(ctx, dir) {
    const java = requireTool('kafka', ctx.config.javaBin, 'install Java 17 or set DUCKHOUSE_JAVA');
    const logDirs = path.join(ctx.dataDir, 'kraft-logs');
    await mkdir(logDirs, { recursive: true });
    const props = path.join(ctx.dataDir, 'server.properties');
    await writeFile(props, serverProperties(ctx, logDirs));
    const classpath = ['-cp', `${path.join(dir, 'libs')}/*`, `-Dlog4j.configuration=file:${path.join(dir, 'log4j.properties')}`];
    if (!existsSync(path.join(logDirs, 'meta.properties'))) {
      ctx.progress('formatting KRaft storage…');
      await runLogged('kafka', java, [...classpath, 'kafka.tools.StorageTool', 'format', '-t', clusterId(), '-c', props, '--ignore-formatted'], {
        logFile: ctx.logFile,
      });
    }
    return {
      command: java,
      args: [
        '-Xms256m', '-Xmx768m', '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20', '-Djava.awt.headless=true',
        `-Dkafka.logs.dir=${ctx.config.paths.logDir}`,
        ...classpath,
        'kafka.Kafka',
        props,
      ],
      markers: [props],
    };
  },

  async ready(ctx) {
    const admin = probeClient(ctx.config.ports.kafka, 0).admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      return cluster.brokers.length > 0 && cluster.controller !== null;
    } catch {
      return false;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  },

  /**
   * A broker that answers metadata may still be loading its group and transaction coordinators; clients then get
   * "coordinator is loading" errors. Wait until a group lookup and an idempotent producer's id both succeed.
   */
  async afterReady(ctx) {
    const client = probeClient(ctx.config.ports.kafka, 20);
    const admin = client.admin();
    const producer = client.producer({ idempotent: true, maxInFlightRequests: 1 });
    try {
      await admin.connect();
      await admin.describeGroups(['duckhouse-stack-warmup']);
      await producer.connect();
    } finally {
      await producer.disconnect().catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
    }
  },
};

function probeClient(port: number, retries: number): Kafka {
  return new Kafka({
    clientId: 'duckhouse-stack-probe',
    brokers: [`127.0.0.1:${port}`],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1000,
    retry: { retries, initialRetryTime: 200, maxRetryTime: 2000 },
  });
}
