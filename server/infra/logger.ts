import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * JSON-lines logger (pino). Secrets never reach it: the redact list is a second line of defence
 * behind services that mask secrets before logging.
 */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: undefined,
      redact: {
        paths: ['password', '*.password', 'token', '*.token', 'passkey', '*.passkey', 'secret', '*.secret', 'req.headers.authorization', 'req.headers["x-export-token"]'],
        censor: '***',
      },
    },
    destination as pino.DestinationStream | undefined,
  );
}
