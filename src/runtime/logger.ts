// Structured JSON logs shaped like Flux's controllers (ts, level, msg, then context fields), so existing log
// tooling keeps working; and the human status lines (► ✔ ✗ ◎) of the CLI and the install, as an interface.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(options: { level?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: undefined,
      messageKey: 'msg',
      errorKey: 'error',
      timestamp: () => `,"ts":"${new Date().toISOString()}"`,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? process.stderr,
  );
}

/** A logger that discards everything, for tests and library callers that pass none. */
export const silentLogger: Logger = pino({ level: 'silent' });

/** Flux's status lines for people: one method per kind of line (the CLI prints ► ✔ ✗ ◎ on stderr). */
export interface StatusLog {
  action(message: string): void;
  success(message: string): void;
  failure(message: string): void;
  waiting(message: string): void;
}
