// Global flags anywhere on the line, as cobra (flux) and kubectl take them: `sluice --context prod get ks` and
// `sluice get --kubeconfig k ks app` mean `sluice get ks app --context prod`. commander reads a command's options
// only after its name, so the global flags met before the last sub-command are moved behind it, where every
// command that talks to a cluster declares them. Hand-written: commander has no persistent flags.
import type { Command } from 'commander';

/** The flags flux and kubectl take anywhere, each with a value. */
const GLOBAL_FLAGS = ['--kubeconfig', '--context', '--namespace', '-n', '--timeout'];

/** How many tokens `arg` takes as a global flag: 0 (not one), 1 (`--context=prod`, `-nprod`) or 2 (`-n prod`). */
function globalFlagLength(arg: string): 0 | 1 | 2 {
  for (const flag of GLOBAL_FLAGS) {
    if (arg === flag) return 2;
    if (
      flag.startsWith('--') ? arg.startsWith(`${flag}=`) : arg.startsWith(flag) && arg.length > flag.length
    ) {
      return 1;
    }
  }
  return 0;
}

const subcommand = (command: Command, name: string | undefined): Command | undefined =>
  name === undefined
    ? undefined
    : command.commands.find((c) => c.name() === name || c.aliases().includes(name));

/** `args` (the words after `sluice`) with the global flags before the last sub-command moved to the end. */
export function hoistGlobalFlags(root: Command, args: readonly string[]): string[] {
  let command = root;
  const path: string[] = [];
  const hoisted: string[] = [];
  let i = 0;
  while (i < args.length) {
    const arg = args[i] as string;
    const length = globalFlagLength(arg);
    if (length > 0) {
      hoisted.push(...args.slice(i, i + length));
      i += length;
      continue;
    }
    const next = subcommand(command, arg);
    if (!next) break;
    command = next;
    path.push(arg);
    i++;
  }
  return [...path, ...args.slice(i), ...hoisted];
}
