// How long-running commands (cdc, sink) end: the first SIGINT/SIGTERM asks the work to stop cleanly and the command
// resolves with what `stop` returns; a second signal exits at once with code 130. A failure of the work rejects.
import type { Logger } from '../shared/logger.js';

export interface SignalMessages {
  /** Logged on the first signal. */
  stopping: string;
  /** Logged on the second signal, before exiting 130. */
  abort: string;
}

export function stopOnSignal<T>(logger: Logger, stop: () => Promise<T>, messages: SignalMessages, failure?: Promise<unknown>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let signalled = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (signalled) {
        logger.warn({ signal }, messages.abort);
        process.exit(130);
      }
      signalled = true;
      logger.info({ signal }, messages.stopping);
      stop().then(resolve, reject);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    failure?.catch(reject);
  });
}
