// Flux's ► ✔ ✗ ◎ status lines on stderr, and running a command's body with a client for its cluster flags.
import type { KubeClient } from '../kube/client.ts';
import { errorMessage } from '../errors.ts';
import { explainForUser } from '../kube/errors.ts';
import type { StatusLog } from '../runtime/logger.ts';
import { loadClient, type ClusterOptions } from './flags.ts';

const ansi = { cyan: 36, green: 32, red: 31, yellow: 33 } as const;

/** Flux's stderr logger: one symbol per kind of line, coloured only on a terminal. */
export function statusLog(stream: NodeJS.WriteStream = process.stderr): StatusLog {
  const colour = stream.isTTY === true;
  const line = (symbol: string, code: number) => (message: string) => {
    stream.write(`${colour ? `\x1b[${code}m${symbol}\x1b[0m` : symbol} ${message}\n`);
  };
  return {
    action: line('►', ansi.cyan),
    success: line('✔', ansi.green),
    failure: line('✗', ansi.red),
    waiting: line('◎', ansi.yellow),
  };
}

/** A failure already reported on stderr: the command only has to exit 1. */
export class ReportedFailure extends Error {
  constructor() {
    super('failure already reported');
    this.name = 'ReportedFailure';
  }
}

/**
 * Runs a command's body with a client for its cluster flags: an error becomes `✗ <message>` on stderr and exit
 * code 1, and the client is closed either way (it would otherwise keep a watch, and the process, alive).
 */
export async function runWithClient(
  options: ClusterOptions,
  body: (client: KubeClient, log: StatusLog) => Promise<void>,
): Promise<void> {
  const log = statusLog();
  try {
    const client = await loadClient(options);
    try {
      await body(client, log);
    } catch (error) {
      throw explainForUser(error, client.identity);
    } finally {
      await client.close();
    }
  } catch (error) {
    if (!(error instanceof ReportedFailure)) log.failure(errorMessage(error));
    process.exitCode = 1;
  }
}
