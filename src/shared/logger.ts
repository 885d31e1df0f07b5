// Structured logging (pino). Library code takes a logger; only src/bin decides where logs go.
// Never log secrets: the redact list below covers the option names that carry them.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(name: string, level: string = process.env.DUCKHOUSE_LOG_LEVEL ?? 'info'): Logger {
  return pino({
    name,
    level,
    redact: {
      paths: ['*.password', '*.secretAccessKey', '*.token', 'password', 'secretAccessKey', 'token'],
      censor: '[redacted]',
    },
  });
}
