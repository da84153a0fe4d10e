// `sluice events`: the Kubernetes events about Flux objects as `flux events` prints them, oldest first;
// `--for Kustomization/<name>` adds the events of its source, `--watch` streams new ones until Ctrl-C.
import { Command } from 'commander';
import type { KubeClient, KubeList, KubeObject } from '../kube/client.ts';
import { listWatch } from '../kube/watch.ts';
import { KustomizationApi } from '../api/kustomization.ts';
import { withClusterOptions, type ClusterOptions } from './flags.ts';
import { getKustomization } from './kinds.ts';
import { formatTable } from './table.ts';
import { humanDuration } from '../api/duration.ts';
import { runWithClient } from './status-log.ts';

export interface KubeEvent extends KubeObject {
  involvedObject: { kind?: string; name?: string; namespace?: string };
  type?: string;
  reason?: string;
  message?: string;
  count?: number;
  firstTimestamp?: string | null;
  lastTimestamp?: string | null;
  eventTime?: string | null;
  series?: { count?: number; lastObservedTime?: string };
}

interface EventsOptions extends ClusterOptions {
  allNamespaces?: boolean;
  watch?: boolean;
  for?: string;
  types: string[];
}

/** The kinds flux shows events for; events about any other kind are left out. */
export const fluxKinds = [
  'Kustomization',
  'HelmRelease',
  'Alert',
  'Receiver',
  'Provider',
  'ImagePolicy',
  'HelmChart',
  'GitRepository',
  'OCIRepository',
  'Bucket',
  'HelmRepository',
  'ImageUpdateAutomation',
  'ImageRepository',
];

const fluxKindNamed = (kind: string): string | undefined =>
  fluxKinds.find((known) => known.toLowerCase() === kind.toLowerCase());

/** One events query: a namespace (undefined: all) and an involvedObject field selector. */
interface EventQuery {
  namespace: string | undefined;
  fieldSelector?: string;
}

const involving = (kind: string, name: string | undefined): string =>
  name ? `involvedObject.kind=${kind},involvedObject.name=${name}` : `involvedObject.kind=${kind}`;

/** What the timestamps of an event are worth for sorting: the series' last, else the last, else eventTime. */
const eventTime = (event: KubeEvent): number =>
  Date.parse(event.series?.lastObservedTime ?? event.lastTimestamp ?? event.eventTime ?? '') || 0;

/** Orders events of the same second (timestamps have no more): by creation, then by name, which for events
 * recorded by client-go or sluice ends in a nanosecond timestamp. */
const byCreation = (a: KubeEvent, b: KubeEvent): number =>
  ((a.metadata?.['creationTimestamp'] as string | undefined) ?? '').localeCompare(
    (b.metadata?.['creationTimestamp'] as string | undefined) ?? '',
  ) || (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? '');

/** kubectl's LAST SEEN: the age, and for a repeated event `<last> (x<count> over <first>)`. */
export function lastSeen(event: KubeEvent, now: number): string {
  const since = (time: string | null | undefined) =>
    time ? humanDuration(now - Date.parse(time)) : '<unknown>';
  const first = event.eventTime ? since(event.eventTime) : since(event.firstTimestamp);
  if (event.series) return `${since(event.series.lastObservedTime)} (x${event.series.count} over ${first})`;
  if ((event.count ?? 0) > 1) return `${since(event.lastTimestamp)} (x${event.count} over ${first})`;
  return first;
}

export function eventsHeader(showNamespace: boolean): string[] {
  const header = ['Last seen', 'Type', 'Reason', 'Object', 'Message'];
  return showNamespace ? ['Namespace', ...header] : header;
}

export function eventRow(event: KubeEvent, showNamespace: boolean, now: number): string[] {
  const row = [
    lastSeen(event, now),
    event.type ?? '',
    event.reason ?? '',
    `${event.involvedObject.kind ?? ''}/${event.involvedObject.name ?? ''}`,
    event.message ?? '',
  ];
  return showNamespace ? [event.metadata?.namespace ?? '', ...row] : row;
}

/** The queries for `--for`: the object itself and, for a Kustomization, its sourceRef (as flux does). */
async function queriesFor(
  client: KubeClient,
  selector: string,
  namespace: string,
  listNamespace: string | undefined,
): Promise<{ queries: EventQuery[]; otherNamespace: boolean }> {
  const slash = selector.indexOf('/');
  const [kindPart, name] =
    slash < 0 ? [selector, undefined] : [selector.slice(0, slash), selector.slice(slash + 1)];
  if (!kindPart) throw new Error('--for selector must be of format <kind>[/<name>]');
  const kind = fluxKindNamed(kindPart);
  if (!kind) throw new Error(`'${kindPart}' is not a recognized Flux kind`);
  const queries: EventQuery[] = [{ namespace: listNamespace, fieldSelector: involving(kind, name) }];
  if (kind !== KustomizationApi.kind || !name) return { queries, otherNamespace: false };
  const ks = await getKustomization(client, namespace, name);
  const sourceRef = ks.spec?.['sourceRef'] as
    { kind?: string; name?: string; namespace?: string } | undefined;
  if (!sourceRef?.kind || !sourceRef.name) return { queries, otherNamespace: false };
  const sourceNamespace = sourceRef.namespace || namespace;
  queries.push({ namespace: sourceNamespace, fieldSelector: involving(sourceRef.kind, sourceRef.name) });
  return { queries, otherNamespace: sourceNamespace !== listNamespace };
}

const eventsPath = (namespace: string | undefined) =>
  namespace === undefined ? '/api/v1/events' : `/api/v1/namespaces/${namespace}/events`;

export function eventsCommand(): Command {
  const command = new Command('events')
    .description('display Kubernetes events for Flux resources')
    .option('-A, --all-namespaces', 'display events from Flux resources across all namespaces')
    .option('-w, --watch', 'stream new events (until Ctrl-C)')
    .option('--for <kind[/name]>', 'get events for a particular object, e.g. Kustomization/app')
    .option(
      '--types <types>',
      'only events of these types (Normal, Warning), comma-separated',
      (value: string, previous: string[]) => [...previous, ...value.split(',')],
      [],
    );
  return withClusterOptions(command).action(async (options: EventsOptions) => {
    await runWithClient(options, async (client, log) => {
      for (const type of options.types) {
        if (!['normal', 'warning'].includes(type.toLowerCase())) {
          throw new Error(`type '${type}' not supported. Supported types are Normal, Warning`);
        }
      }
      const listNamespace = options.allNamespaces ? undefined : options.namespace;
      const { queries, otherNamespace } = options.for
        ? await queriesFor(client, options.for, options.namespace, listNamespace)
        : { queries: [{ namespace: listNamespace }], otherNamespace: false };
      const showNamespace = listNamespace === undefined || otherNamespace;
      const shown = (event: KubeEvent) =>
        fluxKindNamed(event.involvedObject.kind ?? '') !== undefined &&
        (options.types.length === 0 ||
          options.types.some((type) => type.toLowerCase() === (event.type ?? '').toLowerCase()));

      if (options.watch) {
        let first = true;
        const print = (event: KubeEvent) => {
          if (!shown(event)) return;
          const header = first ? eventsHeader(showNamespace) : [];
          process.stdout.write(formatTable(header, [eventRow(event, showNamespace, Date.now())]));
          first = false;
        };
        // Until Ctrl-C ends the process.
        const signal = new AbortController().signal;
        await Promise.all(
          queries.map(async (query) => {
            const path = eventsPath(query.namespace);
            const watch = { fieldSelector: query.fieldSelector, signal };
            for await (const event of listWatch<KubeEvent>(client, path, watch)) {
              if (event.type === 'ADDED' || event.type === 'MODIFIED') print(event.object);
            }
          }),
        );
        return;
      }

      const events: KubeEvent[] = [];
      for (const query of queries) {
        const list = await client.get<KubeList<KubeEvent>>(eventsPath(query.namespace), {
          fieldSelector: query.fieldSelector,
        });
        events.push(...list.items);
      }
      const rows = events
        .sort((a, b) => eventTime(a) - eventTime(b) || byCreation(a, b))
        .filter(shown)
        .map((event) => eventRow(event, showNamespace, Date.now()));
      if (rows.length === 0) {
        log.failure(
          listNamespace === undefined ? 'No events found.' : `No events found in ${listNamespace} namespace.`,
        );
        return;
      }
      process.stdout.write(formatTable(eventsHeader(showNamespace), rows));
    });
  });
}
