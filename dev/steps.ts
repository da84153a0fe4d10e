// A program run as named steps, each with what undoes it: a step that fails, or is interrupted (Ctrl-C,
// SIGTERM), is named with its reason, and everything the earlier steps started is stopped in reverse order
// before the process exits. The demo runs so.
import { errorMessage } from '../src/errors.ts';

/** A step failed (or was interrupted while it ran): `step` names it. */
export class StepFailed extends Error {
  readonly step: string;
  constructor(step: string, cause: unknown) {
    super(`${step}: ${errorMessage(cause)}`, { cause });
    this.name = 'StepFailed';
    this.step = step;
  }
}

/** How long an interrupted step may take to wind down before the clean-ups start. */
const WIND_DOWN_MS = 10_000;
/** A second signal this soon after the first is taken as the same one. */
const SAME_SIGNAL_MS = 2_000;

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

interface Cleanup {
  what: string;
  run(): Promise<void>;
  timeoutMs: number;
}

export class Steps {
  private readonly cleanups: Cleanup[] = [];
  private readonly interrupt = new AbortController();
  private readonly write: (line: string) => void;

  constructor(write: (line: string) => void) {
    this.write = write;
  }

  /** Aborted when the process is asked to stop. */
  get signal(): AbortSignal {
    return this.interrupt.signal;
  }

  /**
   * Runs one step; its failure, or an interrupt while it runs, is thrown as a StepFailed that names it. An
   * interrupted step is given a few seconds to wind down (it sees the signal) before the clean-ups start, and
   * is left behind after that, so that a body that ignores the signal cannot hold up the exit.
   */
  async step<T>(name: string, body: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const signal = this.interrupt.signal;
    try {
      signal.throwIfAborted();
      const running = body(signal);
      let stop: (() => void) | undefined;
      const interrupted = new Promise<never>((_, reject) => {
        stop = () => reject(signal.reason as Error);
        signal.addEventListener('abort', stop, { once: true });
      });
      try {
        return await Promise.race([running, interrupted]);
      } catch (error) {
        if (signal.aborted) await Promise.race([running.catch(() => undefined), delay(WIND_DOWN_MS)]);
        throw error;
      } finally {
        if (stop) signal.removeEventListener('abort', stop);
      }
    } catch (error) {
      throw new StepFailed(name, error);
    }
  }

  /**
   * What undoes a step (stops what it started); run when the program ends, latest first, within `timeoutMs`.
   * `what` names it in the closing "stopping …" line ('' for housekeeping not worth a word).
   */
  onExit(what: string, run: () => Promise<void>, timeoutMs = 30_000): void {
    this.cleanups.push({ what, run, timeoutMs });
  }

  /**
   * Runs `main` with SIGINT and SIGTERM turned into an interrupt of the current step, then every clean-up, and
   * returns the exit code: 0, 1 for a failed step, 130 for an interrupt. A second signal exits at once.
   */
  async run(main: (steps: Steps) => Promise<void>): Promise<number> {
    let interruptedAt = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      if (!this.interrupt.signal.aborted) {
        interruptedAt = performance.now();
        this.interrupt.abort(new Error(`interrupted by ${signal}`));
        return;
      }
      // npm may pass on the terminal's Ctrl-C a moment after the terminal itself: that is the same one.
      if (performance.now() - interruptedAt < SAME_SIGNAL_MS) return;
      this.write(`✗ ${signal} again: exiting without stopping the rest`);
      process.exit(130);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    let code = 0;
    try {
      await main(this);
    } catch (error) {
      code = this.interrupt.signal.aborted ? 130 : 1;
      const step = error instanceof StepFailed ? ` in step "${error.step}"` : '';
      const reason = error instanceof StepFailed ? errorMessage(error.cause) : errorMessage(error);
      this.write(`\n✗ failed${step}: ${reason}`);
    }
    if (!(await this.cleanUp())) code ||= 1;
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    return code;
  }

  /** Runs the clean-ups, latest first; false when one failed (each is still tried). */
  private async cleanUp(): Promise<boolean> {
    if (this.cleanups.length === 0) return true;
    const named = this.cleanups.map((c) => c.what).filter(Boolean);
    if (named.length > 0) this.write(`▶ stopping ${named.reverse().join(', ')}`);
    let ok = true;
    for (const cleanup of this.cleanups.reverse()) {
      try {
        await Promise.race([
          cleanup.run(),
          new Promise<never>((_, reject) =>
            setTimeout(
              () => reject(new Error(`not done after ${cleanup.timeoutMs / 1000}s`)),
              cleanup.timeoutMs,
            ).unref(),
          ),
        ]);
      } catch (error) {
        ok = false;
        this.write(`✗ stopping ${cleanup.what} failed: ${errorMessage(error)}`);
      }
    }
    return ok;
  }
}
