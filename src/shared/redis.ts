// Opening a Redis connection the way BullMQ needs it (`maxRetriesPerRequest: null`: its blocking commands must wait,
// not fail). Must never: log the password.
import { Redis } from 'ioredis';

export interface RedisEndpoint {
  readonly host: string;
  readonly port: number;
  readonly password: string;
}

export function connectRedis(endpoint: RedisEndpoint): Redis {
  return new Redis({ host: endpoint.host, port: endpoint.port, password: endpoint.password, maxRetriesPerRequest: null });
}
