// Runs once around `npm test`: builds the flux CLI the compatibility tests run when it is not cached, and the
// page of `sluice ui` from its source (so the browser tests see it as it is now), brings up
// the local control plane when no cluster is given, and stops it afterwards only if this run started it
// (SLUICE_KEEP_CLUSTER=1 keeps it for the next run).
import { LocalCluster } from '../../dev/cluster.ts';
import { ensureFluxCli } from '../../dev/flux.ts';
import { buildUi } from '../../dev/build-ui.ts';

const cluster = LocalCluster.fromEnvironment();
let startedHere = false;

export async function globalSetup(): Promise<void> {
  await ensureFluxCli((line) => process.stderr.write(`${line}\n`));
  await buildUi();
  if (process.env.SLUICE_TEST_KUBECONFIG) return;
  startedHere = !cluster.started;
  await cluster.up({ onLine: (line) => process.stderr.write(`${line}\n`) });
}

export async function globalTeardown(): Promise<void> {
  if (startedHere && process.env.SLUICE_KEEP_CLUSTER !== '1') await cluster.down();
}
