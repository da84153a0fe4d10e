// The sluice command line: parses the arguments (global flags anywhere, as flux and kubectl take them) and runs
// the command; a failure is one `✗` line and exit code 1.
import { program } from './program.ts';
import { hoistGlobalFlags } from './argv.ts';
import { errorMessage } from '../errors.ts';

// A reader that stops early (`sluice install --export | head`) is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

try {
  const root = program();
  await root.parseAsync(hoistGlobalFlags(root, process.argv.slice(2)), { from: 'user' });
} catch (error) {
  console.error(`✗ ${errorMessage(error)}`);
  process.exitCode = 1;
}
