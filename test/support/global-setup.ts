// Runs once around `npm test`: builds the flux CLI the compatibility tests run when it is not cached, brings up
// the local control plane when no cluster is given, and stops it afterwards only if this run started it
// (SLUICE_KEEP_CLUSTER=1 keeps it for the next run).
import { LocalCluster } from '../../dev/cluster.ts';
import { ensureFluxCli } from '../../dev/flux.ts';

const cluster = LocalCluster.fromEnvironment();
let startedHere = false;

export async function globalSetup(): Promise<void> {
  await ensureFluxCli((line) => process.stderr.write(`${line}\n`));
  if (process.env.SLUICE_TEST_KUBECONFIG) return;
  startedHere = !cluster.started;
  await cluster.up({ onLine: (line) => process.stderr.write(`${line}\n`) });
}

export async function globalTeardown(): Promise<void> {
  if (startedHere && process.env.SLUICE_KEEP_CLUSTER !== '1') await cluster.down();
}
