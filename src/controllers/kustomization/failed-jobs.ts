// With --failed-job-log-lines: one Warning event per failed Job with the end of its last failed pod's log, so
// the reason outlives the pods (a TTL, or force recreating the Job, deletes them). The log is read as the
// Kustomization's identity; one it may not or cannot read is only logged.
import { describeRef } from '../../kube/objects.ts';
import { containerNames, getJob, jobPods, podLogTail } from '../../kube/pods.ts';
import type { HealthTarget } from '../../ssa/wait.ts';
import { errorMessage } from '../../errors.ts';
import type { KustomizationPass } from './pass.ts';

/** How long a failed Job's log may take to read before the report goes without it. */
const LOG_READ_TIMEOUT_MS = 10_000;

export async function reportFailedJobs(
  pass: KustomizationPass,
  targets: HealthTarget[],
  lines: number,
): Promise<void> {
  if (lines <= 0) return;
  const client = pass.objects.client;
  for (const { ref } of targets.filter((t) => t.ref.kind === 'Job')) {
    try {
      const job = await getJob(client, ref.namespace ?? '', ref.name);
      if (!job?.status?.conditions?.some((c) => c.type === 'Failed' && c.status === 'True')) continue;
      const pods = await jobPods(client, job);
      const pod = pods.findLast((p) => p.status?.phase === 'Failed') ?? pods.at(-1);
      if (!pod) continue;
      const sections: string[] = [];
      for (const container of containerNames(pod)) {
        const signal = AbortSignal.any([pass.request.signal, AbortSignal.timeout(LOG_READ_TIMEOUT_MS)]);
        const text = (await podLogTail(client, pod, container, lines, signal)).trimEnd();
        sections.push(`--- pod/${pod.metadata.name} container/${container}\n${text || '(no output)'}`);
      }
      await pass.event(
        'Warning',
        [`${describeRef(ref)} failed; the last ${lines} lines of its log:`, ...sections].join('\n'),
        'HealthCheckFailed',
      );
    } catch (error) {
      pass.request.log.info(
        { job: describeRef(ref), error: errorMessage(error) },
        'cannot read the log of a failed Job',
      );
    }
  }
}
