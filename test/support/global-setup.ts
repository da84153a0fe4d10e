// Runs once around `npm test`: brings up the local control plane when no cluster is given, and stops it
// afterwards only if this run started it (SLUICE_KEEP_CLUSTER=1 keeps it for the next run).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './cluster.ts';

let startedHere = false;

function cluster(command: 'up' | 'down'): void {
  execFileSync('bash', [path.join(repoRoot, 'scripts/cluster', `${command}.sh`)], { stdio: 'inherit' });
}

export function globalSetup(): void {
  if (process.env.SLUICE_TEST_KUBECONFIG) return;
  startedHere = !existsSync(path.join(repoRoot, '.cluster', 'pids'));
  cluster('up');
}

export function globalTeardown(): void {
  if (startedHere && process.env.SLUICE_KEEP_CLUSTER !== '1') cluster('down');
}
