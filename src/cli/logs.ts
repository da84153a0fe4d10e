// `sluice logs ks <name>`: the pod logs of the Jobs a Kustomization applied, Job by Job in inventory order,
// each pod's containers under a header. Flux has no such command: `flux logs` shows the
// controllers' own logs.
import { Command, Option } from 'commander';
import type { KubeClient } from '../kube/client.ts';
import { containerNames, getJob, jobPods, podLog, type Pod } from '../kube/pods.ts';
import { parseObjectId, type ObjectId } from '../inventory/inventory.ts';
import { durationMs, wholeNumber, withClusterOptions, type ClusterOptions } from './flags.ts';
import { getKustomization } from './kinds.ts';
import { ReportedFailure, runWithClient } from './status-log.ts';
import type { StatusLog } from '../runtime/logger.ts';
import { errorMessage } from '../errors.ts';

interface LogsOptions extends ClusterOptions {
  container?: string;
  follow?: boolean;
  tail?: number;
  /** --since, in milliseconds. */
  since?: number;
  timestamps?: boolean;
}

/** The Jobs of an inventory, in inventory order (the order the Kustomization applies them in). */
export function inventoryJobs(entries: readonly { id: string }[]): ObjectId[] {
  return entries
    .map((entry) => parseObjectId(entry.id))
    .filter((id) => id.group === 'batch' && id.kind === 'Job');
}

/** The containers to print: the one asked for, else every init container then every container. */
export function containersToPrint(pod: Pod, only?: string): string[] {
  const all = containerNames(pod);
  return only === undefined ? all : all.filter((name) => name === only);
}

/** tail(1)'s header for one stream among several. */
export const logHeader = (job: string, pod: Pod, container: string): string =>
  `==> Job/${job} pod/${pod.metadata.name} container/${container} (${pod.status?.phase ?? 'Unknown'}) <==`;

/** Copies one container's log to stdout; false when the server could not give it (reported on stderr). */
async function printContainerLog(
  client: KubeClient,
  pod: Pod,
  container: string,
  options: LogsOptions,
  log: StatusLog,
): Promise<boolean> {
  const { name } = pod.metadata;
  try {
    const body = await podLog(client, pod, container, {
      follow: options.follow === true ? true : undefined,
      tailLines: options.tail,
      // The API takes whole seconds: round a shorter --since up rather than to nothing.
      sinceSeconds: options.since === undefined ? undefined : Math.max(1, Math.ceil(options.since / 1000)),
      timestamps: options.timestamps === true ? true : undefined,
    });
    let lastByte: number | undefined;
    // Bytes go out as they came: decoding chunk by chunk could split a character.
    for await (const chunk of body) {
      const bytes = chunk as Buffer;
      if (bytes.length > 0) lastByte = bytes[bytes.length - 1];
      if (!process.stdout.write(bytes)) await new Promise((resolve) => process.stdout.once('drain', resolve));
    }
    if (lastByte !== undefined && lastByte !== 0x0a) process.stdout.write('\n');
    return true;
  } catch (error) {
    log.failure(`pod/${name} container/${container}: cannot read its log: ${errorMessage(error)}`);
    return false;
  }
}

/** Prints the logs of one Job's pods; false when a log could not be read. */
async function printJobLogs(
  client: KubeClient,
  id: ObjectId,
  options: LogsOptions,
  log: StatusLog,
): Promise<boolean> {
  const jobRef = `${id.namespace}/${id.name}`;
  const job = await getJob(client, id.namespace, id.name);
  if (!job) {
    log.waiting(
      `Job/${jobRef}: not in the cluster any more (ttlSecondsAfterFinished deletes a finished Job with its pods), so no logs`,
    );
    return true;
  }
  const pods = await jobPods(client, job);
  if (pods.length === 0) {
    log.waiting(`Job/${jobRef}: no pods left (deleted by hand or by the pod garbage collector), so no logs`);
    return true;
  }
  let ok = true;
  for (const pod of pods) {
    const containers = containersToPrint(pod, options.container);
    if (containers.length === 0) {
      log.waiting(`Job/${jobRef} pod/${pod.metadata.name}: no container named "${options.container}"`);
      continue;
    }
    for (const container of containers) {
      process.stdout.write(`${logHeader(jobRef, pod, container)}\n`);
      ok = (await printContainerLog(client, pod, container, options, log)) && ok;
    }
  }
  return ok;
}

export function logsCommand(): Command {
  const kustomization = new Command('kustomization')
    .aliases(['ks', 'kustomizations'])
    .description("print the pod logs of a Kustomization's Jobs, Job by Job in the order it applied them")
    .argument('<name>', 'the Kustomization')
    .option('-c, --container <name>', 'print only this container of each pod')
    .option('-f, --follow', 'stream each log until its container ends, Job after Job')
    .addOption(new Option('--tail <lines>', 'the last lines of each log only').argParser(wholeNumber(0)))
    .addOption(
      new Option('--since <duration>', 'lines newer than this only, e.g. 10m or 1h').argParser(durationMs),
    )
    .option('--timestamps', 'prefix each line with its RFC 3339 time');
  withClusterOptions(kustomization).action(async (name: string, options: LogsOptions) => {
    await runWithClient(options, async (client, log) => {
      const ks = await getKustomization(client, options.namespace, name);
      const ref = `${ks.metadata.namespace}/${name}`;
      const entries = ks.status?.inventory?.entries;
      if (entries === undefined) {
        throw new Error(`Kustomization ${ref} has no inventory yet: it has not applied anything`);
      }
      const jobs = inventoryJobs(entries);
      if (jobs.length === 0) {
        log.waiting(`Kustomization ${ref} applied no Jobs, so there are no logs to show`);
        return;
      }
      let ok = true;
      for (const job of jobs) ok = (await printJobLogs(client, job, options, log)) && ok;
      if (!ok) throw new ReportedFailure();
    });
  });
  return new Command('logs')
    .description('print the logs of the pods a Flux object ran')
    .addCommand(kustomization);
}
