// MinIO, the S3-compatible store for the warehouse, compiled with `go install` at a pinned module version and cached.
// It runs on loopback with the configured root credentials (passed in the environment, never on the command line),
// and the warehouse bucket is created once it is ready.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { CreateBucketCommand, HeadBucketCommand } from '@aws-sdk/client-s3';
import { createS3Client } from '../../catalog/io/s3-client.js';
import type { Component, ComponentContext } from '../component.js';
import type { StackConfig } from '../config.js';
import { httpOk, requireTool, runLogged } from '../tools.js';

/**
 * The final commit of the community minio/minio repository (2026-02-12): the RELEASE.2025-10-15T17-29-55Z code plus
 * its later fixes (among them the conditional-put read-quorum fix). The Go proxy serves this pseudo-version; it
 * refuses to resolve the release tag's own commit (`.info` answers 403). See docs/adr/0002-native-stack.md.
 */
export const MINIO_MODULE = 'github.com/minio/minio';
export const MINIO_VERSION = 'v0.0.0-20260212201848-7aac2a2c5b7c';

function s3Client(config: StackConfig) {
  return createS3Client({
    endpoint: `http://127.0.0.1:${config.ports.minio}`,
    region: 'us-east-1',
    accessKeyId: config.credentials.minioUser,
    secretAccessKey: config.credentials.minioPassword,
  });
}

export const minio: Component = {
  name: 'minio',
  title: 'MinIO',
  ports: ['minio', 'minioConsole'],
  dependsOn: [],
  stopSignal: 'SIGTERM',
  installKey: () => MINIO_VERSION.slice(-12),

  async install(ctx: ComponentContext, dir: string) {
    const go = requireTool('minio', 'go', 'install Go 1.24 or newer');
    ctx.progress(`compiling ${MINIO_MODULE}@${MINIO_VERSION} with go install (a few minutes on 2 cores)…`);
    await runLogged('minio', go, ['install', `${MINIO_MODULE}@${MINIO_VERSION}`], {
      logFile: ctx.installLogFile,
      env: { ...process.env, CGO_ENABLED: '0', GOBIN: path.join(dir, 'bin'), GOFLAGS: '-modcacherw -trimpath' },
    });
  },

  async launch(ctx, dir) {
    const data = path.join(ctx.dataDir, 'objects');
    await mkdir(data, { recursive: true });
    return {
      command: path.join(dir, 'bin', 'minio'),
      args: [
        'server',
        data,
        '--address', `127.0.0.1:${ctx.config.ports.minio}`,
        '--console-address', `127.0.0.1:${ctx.config.ports.minioConsole}`,
        '--quiet',
      ],
      env: {
        ...process.env,
        MINIO_ROOT_USER: ctx.config.credentials.minioUser,
        MINIO_ROOT_PASSWORD: ctx.config.credentials.minioPassword,
        MINIO_UPDATE: 'off',
        MINIO_CI_CD: '1',
      },
      markers: [data],
    };
  },

  ready: (ctx) => httpOk(`http://127.0.0.1:${ctx.config.ports.minio}/minio/health/ready`),

  async afterReady(ctx) {
    const client = s3Client(ctx.config);
    const Bucket = ctx.config.credentials.warehouseBucket;
    try {
      await client.send(new HeadBucketCommand({ Bucket }));
    } catch {
      ctx.progress(`creating bucket ${Bucket}`);
      await client.send(new CreateBucketCommand({ Bucket }));
    } finally {
      client.destroy();
    }
  },
};
