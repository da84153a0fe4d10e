// Running a command line program the way a user does, for the tests, the demo and the bench: its exit code and
// both outputs, whatever the outcome.
import { execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `file args` in `cwd` with `env` (merged over this process's; undefined removes a variable); never throws on
 * exit.
 */
export async function runCommand(
  file: string,
  args: string[],
  options: { env?: Record<string, string | undefined>; timeoutMs?: number; cwd?: string } = {},
): Promise<CommandResult> {
  try {
    const { stdout, stderr } = await execFileAsync(file, args, {
      env: { ...process.env, ...options.env },
      timeout: options.timeoutMs,
      cwd: options.cwd,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout: string; stderr: string };
    return {
      code: typeof failed.code === 'number' ? failed.code : -1,
      stdout: failed.stdout,
      stderr: failed.stderr,
    };
  }
}

/**
 * Resolves once `child` writes `marker` to stdout or stderr (a server saying it listens); rejects with its
 * output if it exits first or `timeoutMs` pass (and then kills it). `name` says who in the error.
 */
export function waitForOutput(
  child: ChildProcess,
  marker: string,
  name: string,
  timeoutMs = 10_000,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not start within ${timeoutMs / 1000}s: ${output.trim()}`));
    }, timeoutMs);
    const read = (chunk: Buffer | string) => {
      output += chunk.toString();
      if (output.includes(marker)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', read);
    child.stderr?.on('data', read);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code}: ${output.trim()}`));
    });
  });
}

/** Stops a server this process started (SIGTERM) and waits until it has exited. */
export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}
