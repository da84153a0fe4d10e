// Running a command line program the way a user does, for the tests, the demo and the bench: its exit code and
// both outputs, whatever the outcome.
import { execFile } from 'node:child_process';
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
