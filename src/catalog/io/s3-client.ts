// Makes the @aws-sdk/client-s3 client DuckHouse uses for S3-compatible stores (MinIO in the stack): path-style
// addressing, and checksums only where the API requires them (MinIO and the SDK ≥ 3.729 disagree otherwise).
import { S3Client } from '@aws-sdk/client-s3';

export interface S3ClientOptions {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export function createS3Client(options: S3ClientOptions): S3Client {
  return new S3Client({
    endpoint: options.endpoint,
    region: options.region,
    forcePathStyle: true,
    credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}
