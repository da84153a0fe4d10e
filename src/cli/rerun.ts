// `sluice rerun ks <name>`: runs a Kustomization's failed Jobs (or the one named) again now, for the revision it
// has, without a commit: the controller deletes them and applies them again (sluice.dev/rerun-* annotations
// with a reconcile request), and this follows the pass as `sluice reconcile` does. Each rerun is a new attempt
// in the run ledger. A Job still running is refused unless --force.
import { Command } from 'commander';
import type { JobRun } from '../api/kustomization.ts';
import { SluiceAnnotation } from '../api/meta.ts';
import { getJob } from '../kube/pods.ts';
import { jobsToRerun, type RerunCandidate } from '../jobs/rerun.ts';
import { historyRow } from '../jobs/history.ts';
import { objectId } from '../inventory/inventory.ts';
import { inventoryJobs } from './logs.ts';
import { kustomizationKind } from './kinds.ts';
import {
  getReconcilable,
  refOf,
  requestAndWait,
  run,
  withReconcileOptions,
  type ReconcileFlags,
} from './reconcile.ts';

interface RerunFlags extends ReconcileFlags {
  job?: string;
  force?: boolean;
}

export function rerunCommand(): Command {
  const kustomization = withReconcileOptions(
    new Command('kustomization')
      .aliases(['ks'])
      .description("run a Kustomization's failed Jobs again now, for its current revision, and wait for them")
      .argument('<name>', 'the Kustomization')
      .option('--job <name>', 'run this Job again, even if it completed')
      .option('--force', 'stop a Job that is still running and run it again'),
  ).action((name: string, flags: RerunFlags) =>
    run(flags, async (ctx) => {
      const ks = await getReconcilable(ctx, refOf(kustomizationKind, flags.namespace, name));
      const where = `${ks.metadata.namespace}/${name}`;
      const runs = (ks.status as { jobRuns?: JobRun[] } | undefined)?.jobRuns;
      const candidates: RerunCandidate[] = [];
      for (const id of inventoryJobs(ks.status?.inventory?.entries ?? [])) {
        const live = await getJob(ctx.objects.client, id.namespace, id.name);
        candidates.push({ id: objectId(id), namespace: id.namespace, name: id.name, live });
      }
      const chosen = jobsToRerun(
        where,
        candidates,
        runs,
        { job: flags.job, force: flags.force ?? false },
        new Date(),
      );
      ctx.log.action(`running ${chosen.map((c) => `Job/${c.namespace}/${c.name}`).join(', ')} again`);
      const after = await requestAndWait(ctx, kustomizationKind, ks, (requestedAt) => ({
        [SluiceAnnotation.rerunJobs]: chosen.map((c) => `${c.namespace}/${c.name}`).join(','),
        [SluiceAnnotation.rerunForce]: flags.force ? 'true' : null,
        [SluiceAnnotation.rerunRequestedAt]: requestedAt,
      }));
      const ledger = (after?.status as { jobRuns?: JobRun[] } | undefined)?.jobRuns ?? [];
      for (const c of chosen) {
        const latest = ledger.find((r) => r.id === c.id);
        if (!latest) continue;
        const [, job, attempt, , took, result] = historyRow(latest, new Date());
        ctx.log.success(`${job} attempt ${attempt}: ${result} in ${took}`);
      }
    }),
  );
  return new Command('rerun')
    .description("run a Flux object's Jobs again, without a commit")
    .addCommand(kustomization);
}
