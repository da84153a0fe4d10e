// `sluice diff ks NAME --path DIR`: what applying a local directory would change, from a server-side dry-run
// with the controller's field manager; the flags are `flux diff ks`'s. Unlike `flux diff`, an object that force would recreate (an
// immutable Job) is shown as "will be recreated" instead of failing the whole diff.
// Exit codes as flux: 0 no changes, 1 changes, 2 an error.
import { Command } from 'commander';
import { createTwoFilesPatch } from 'diff';
import YAML from 'yaml';
import type { KubeObject } from '../kube/client.ts';
import { ObjectClient, describeRef, refOf } from '../kube/objects.ts';
import { leaveDeleted, ledgerOf } from '../jobs/ledger.ts';
import { ResourceManager } from '../ssa/manager.ts';
import { IgnoreRules, withoutPaths } from '../ssa/ignore.ts';
import { connectRemoteCluster } from '../controllers/kustomization/remote-cluster.ts';
import { parseObjectId } from '../inventory/inventory.ts';
import { FieldManager } from '../api/meta.ts';
import { buildFromFlags, maskSecrets, withLocalBuildOptions, type LocalBuildFlags } from './build.ts';
import { loadClient } from './flags.ts';
import type { LocalBuild } from '../controllers/kustomization/local-build.ts';
import { ownerLabels } from '../controllers/kustomization/manifests.ts';
import type { StatusLog } from '../runtime/logger.ts';
import { explainForUser } from '../kube/errors.ts';
import { statusLog } from './status-log.ts';
import { errorMessage } from '../errors.ts';

/** The fields a diff should show: no server bookkeeping, Secret values masked. */
function comparable(object: KubeObject): string {
  const copy = structuredClone(maskSecrets(object));
  delete copy['status'];
  const bookkeeping = new Set(['managedFields', 'resourceVersion', 'uid', 'generation', 'creationTimestamp']);
  copy.metadata = Object.fromEntries(
    Object.entries(copy.metadata ?? {}).filter(([key]) => !bookkeeping.has(key)),
  );
  return YAML.stringify(copy, { sortMapEntries: true });
}

/** What the diff of one Kustomization's build found. */
interface DiffResult {
  changed: boolean;
  failed: boolean;
}

/** Prints what applying `build` would change: created, drifted (with a patch), recreated, skipped, deleted. */
async function diffBuild(
  objects: ObjectClient,
  { kustomization: live, objects: built }: LocalBuild,
  log: StatusLog,
  signal: AbortSignal,
): Promise<DiffResult> {
  const alreadyRan = new Set<string>();
  const plans = await new ResourceManager(objects).dryRunAll(built, {
    fieldManager: FieldManager.kustomizeController,
    force: live.spec.force ?? false,
    // As the controller: a Job its TTL deleted after it completed for this manifest is not created again.
    skip: (desired, existing) => {
      const skip = leaveDeleted(ledgerOf(live.status), desired, existing);
      if (skip) alreadyRan.add(describeRef(refOf(desired)));
      return skip;
    },
    signal,
    ownerLabels: ownerLabels(live),
    ignore: new IgnoreRules(live.spec.ignore),
  });
  const result: DiffResult = { changed: false, failed: false };
  for (const plan of plans) {
    const subject = describeRef(refOf(plan.object));
    if ('error' in plan) {
      log.failure(plan.error);
      result.failed = true;
    } else if (plan.recreate) {
      log.action(`${subject} will be recreated (immutable fields changed; force is on)`);
      result.changed = true;
    } else if (plan.action === 'created') {
      log.action(`${subject} created`);
      result.changed = true;
    } else if (plan.action === 'configured' && plan.existing && plan.dryRun) {
      // As flux diff: the fields spec.ignore leaves to others are not shown.
      const ignored = plan.ignoredPaths ?? [];
      const before = comparable(withoutPaths(plan.existing, ignored));
      const after = comparable(withoutPaths(plan.dryRun, ignored));
      // Masked Secret values can differ with nothing left to show: say so instead of an empty diff.
      log.action(before === after ? `${subject} drifted (values hidden)` : `${subject} drifted`);
      if (before !== after) {
        process.stdout.write(createTwoFilesPatch(subject, subject, before, after, 'live', 'merged'));
      }
      result.changed = true;
    } else if (alreadyRan.has(subject)) {
      log.action(
        `${subject} skipped (completed for this manifest, then deleted by its ttlSecondsAfterFinished)`,
      );
    } else if (plan.action === 'skipped') {
      log.action(`${subject} skipped`);
    }
  }
  if (live.spec.prune) {
    const declared = new Set(plans.map((p) => describeRef(refOf(p.object))));
    for (const entry of live.status?.inventory?.entries ?? []) {
      const id = parseObjectId(entry.id);
      const subject = id.namespace ? `${id.kind}/${id.namespace}/${id.name}` : `${id.kind}/${id.name}`;
      if (!declared.has(subject)) {
        log.action(`${subject} deleted`);
        result.changed = true;
      }
    }
  }
  return result;
}

export function diffCommand(): Command {
  const ks = withLocalBuildOptions(
    new Command('kustomization')
      .alias('ks')
      .description(
        'show what applying a local directory would change (server-side dry-run); with --recursive, for each Kustomization it declares too',
      ),
  ).action(async (name: string, flags: LocalBuildFlags) => {
    const log = statusLog();
    try {
      const client = await loadClient(flags);
      try {
        const objects = new ObjectClient(client);
        const builds = await buildFromFlags(objects, name, flags);
        let changed = false;
        let failed = false;
        for (const build of builds) {
          // Unlike flux diff, a Kustomization with spec.kubeConfig is compared with the cluster it applies to.
          const remote = await connectRemoteCluster(objects, build.kustomization, undefined);
          const result = await diffBuild(
            remote?.objects ?? objects,
            build,
            log,
            AbortSignal.timeout(flags.timeout),
          ).finally(() => remote?.close());
          changed ||= result.changed;
          failed ||= result.failed;
        }
        process.exitCode = failed ? 2 : changed ? 1 : 0;
      } catch (error) {
        throw explainForUser(error, client.identity);
      } finally {
        await client.close();
      }
    } catch (error) {
      log.failure(errorMessage(error));
      process.exitCode = 2;
    }
  });
  return new Command('diff').description('compare a local directory with the cluster').addCommand(ks);
}
