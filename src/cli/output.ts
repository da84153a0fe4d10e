// What the Flux-style commands share: the cluster flags and namespace default, Flux's table layout, hex
// truncation, ages, and the ► ✔ ✗ ◎ status lines on stderr.
import { InvalidArgumentError, Option, type Command } from 'commander';
import { KubeClient, type KubeObject, type KubeObjectMeta } from '../kube/client.ts';
import { isNotFound } from '../kube/errors.ts';
import { GitRepositoryApi } from '../api/gitrepository.ts';
import { KustomizationApi } from '../api/kustomization.ts';
import { collectionPath, type ApiType, type StatusCondition } from '../api/meta.ts';
import { parseDuration } from '../api/duration.ts';

export interface ClusterOptions {
  kubeconfig?: string;
  context?: string;
  namespace: string;
}

/** Flux's default namespace when neither -n nor $FLUX_SYSTEM_NAMESPACE says otherwise. */
export const defaultNamespace = 'flux-system';

const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** As Flux: $FLUX_SYSTEM_NAMESPACE when it is a valid DNS label, else flux-system (not the context's namespace). */
export function namespaceDefault(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.FLUX_SYSTEM_NAMESPACE;
  return fromEnv && isDnsLabel(fromEnv) ? fromEnv : defaultNamespace;
}

const isDnsLabel = (value: string): boolean => value.length <= 63 && dnsLabel.test(value);

/** A commander argument parser for a whole number of at least `min`. */
export const wholeNumber =
  (min: number) =>
  (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min)
      throw new InvalidArgumentError(`expected a whole number of at least ${min}`);
    return n;
  };

/** A commander argument parser for a Go duration (30s, 5m, 1h30m), in milliseconds. */
export function durationMs(value: string): number {
  try {
    return parseDuration(value, 'flag');
  } catch (error) {
    throw new InvalidArgumentError(error instanceof Error ? error.message : String(error));
  }
}

function parseNamespace(value: string): string {
  if (!isDnsLabel(value)) throw new InvalidArgumentError(`namespace must be a valid DNS label: "${value}"`);
  return value;
}

/** Adds --kubeconfig, --context and -n/--namespace, the flags every cluster command takes. */
export function withClusterOptions(command: Command): Command {
  return command
    .option('--kubeconfig <path>', 'kubeconfig file (default: $KUBECONFIG or ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context to use (default: the current context)')
    .addOption(
      new Option('-n, --namespace <namespace>', 'the namespace scope for this operation')
        .argParser(parseNamespace)
        .default(namespaceDefault(), '$FLUX_SYSTEM_NAMESPACE or flux-system'),
    );
}

export function loadClient(options: ClusterOptions): Promise<KubeClient> {
  return KubeClient.load({ kubeconfig: options.kubeconfig, context: options.context });
}

/** The two kinds the commands handle, with the words Flux prints for each. */
export interface FluxKind {
  api: ApiType;
  /** Lower-case, as in "► suspending kustomization app". */
  humanKind: string;
  /** The revision a resumed object reports, and how its success line says it. */
  revisionOf: (object: FluxObject) => string | undefined;
  revisionVerb: string;
}

export interface FluxObject extends KubeObject {
  metadata: KubeObjectMeta & { name: string; namespace: string };
  spec?: { suspend?: boolean; [key: string]: unknown };
  status?: {
    observedGeneration?: number;
    conditions?: StatusCondition[];
    lastAppliedRevision?: string;
    artifact?: { revision?: string };
    inventory?: { entries?: { id: string; v: string }[] };
    [key: string]: unknown;
  };
}

export const kustomizationKind: FluxKind = {
  api: KustomizationApi,
  humanKind: 'kustomization',
  revisionOf: (object) => object.status?.lastAppliedRevision,
  revisionVerb: 'applied',
};

export const gitRepositoryKind: FluxKind = {
  api: GitRepositoryApi,
  humanKind: 'source git',
  revisionOf: (object) => object.status?.artifact?.revision,
  revisionVerb: 'fetched',
};

/** One Kustomization, or the error kubectl gives for a missing one. */
export async function getKustomization(
  client: KubeClient,
  namespace: string,
  name: string,
): Promise<FluxObject> {
  try {
    return await client.get<FluxObject>(`${collectionPath(KustomizationApi, namespace)}/${name}`);
  } catch (error) {
    if (isNotFound(error))
      throw new Error(`${KustomizationApi.plural}.${KustomizationApi.group} "${name}" not found`, {
        cause: error,
      });
    throw error;
  }
}

export const readyCondition = (object: FluxObject) =>
  object.status?.conditions?.find((condition) => condition.type === 'Ready');

// SHA-1 to SHA-512 in hex, as a whole word (Flux's internal/utils/hex.go).
const hexRun = /\b[a-f0-9]{40,128}\b/g;

/** Cuts every run of 40 to 128 hex characters to its first 8: `main@sha1:67e2c98a`. */
export function truncateHex(text: string): string {
  return text.replace(hexRun, (hex) => hex.slice(0, 8));
}

const displayWidth = (text: string): number => [...text].length;
const padRight = (text: string, width: number): string =>
  text + ' '.repeat(Math.max(0, width - displayWidth(text)));

/** tablewriter's header formatting (SetAutoFormatHeaders): underscores become spaces, then upper case. */
const headerTitle = (header: string): string => header.replaceAll('_', ' ').trim().toUpperCase();

/**
 * Flux's table (pkg/printers/table_printer.go: olekukonko/tablewriter, no borders, tab padding): every cell is
 * padded with spaces to its column's width; header cells are followed by a tab, the last one by a space; row
 * cells are all followed by a tab. A cell with newlines spans several lines, the other cells padding below it.
 */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  const widen = (column: number, lines: readonly string[]) => {
    for (const line of lines) widths[column] = Math.max(widths[column] ?? 0, displayWidth(line));
  };
  header.forEach((cell, column) => widen(column, cell.split('\n')));
  const rowLines = rows.map((row) => row.map((cell) => cell.split('\n')));
  for (const row of rowLines) row.forEach((lines, column) => widen(column, lines));

  let out = '';
  if (header.length > 0) {
    header.forEach((cell, column) => {
      const last = column === header.length - 1;
      out += padRight(headerTitle(cell), widths[column] ?? 0) + (last ? ' ' : '\t');
    });
    out += '\n';
  }
  for (const row of rowLines) {
    const height = Math.max(...row.map((lines) => lines.length));
    for (let line = 0; line < height; line++) {
      // tablewriter fills the missing lines of a shorter cell with two spaces.
      out += row.map((lines, column) => padRight(lines[line] ?? '  ', widths[column] ?? 0) + '\t').join('');
      out += '\n';
    }
  }
  return out;
}

/** Kubernetes' duration.HumanDuration, which kubectl and flux use for ages: `45s`, `5m3s`, `3h20m`, `2d5h`. */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.trunc(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  const days = Math.trunc(hours / 24);
  if (hours < 24 * 8) return hours % 24 === 0 ? `${days}d` : `${days}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.trunc(days / 365);
  if (hours < 24 * 365 * 8) return days % 365 === 0 ? `${years}y` : `${years}y${days % 365}d`;
  return `${years}y`;
}

/** Flux's stderr logger: one symbol per kind of line, coloured only on a terminal. */
export interface StatusLog {
  action(message: string): void;
  success(message: string): void;
  failure(message: string): void;
  waiting(message: string): void;
}

const ansi = { cyan: 36, green: 32, red: 31, yellow: 33 } as const;

export function statusLog(stream: NodeJS.WriteStream = process.stderr): StatusLog {
  const colour = stream.isTTY === true;
  const line = (symbol: string, code: number) => (message: string) => {
    stream.write(`${colour ? `\x1b[${code}m${symbol}\x1b[0m` : symbol} ${message}\n`);
  };
  return {
    action: line('►', ansi.cyan),
    success: line('✔', ansi.green),
    failure: line('✗', ansi.red),
    waiting: line('◎', ansi.yellow),
  };
}

/** A failure already reported on stderr: the command only has to exit 1. */
export class ReportedFailure extends Error {
  constructor() {
    super('failure already reported');
    this.name = 'ReportedFailure';
  }
}

/**
 * Runs a command's body with a client for its cluster flags: an error becomes `✗ <message>` on stderr and exit
 * code 1, and the client is closed either way (it would otherwise keep a watch, and the process, alive).
 */
export async function runWithClient(
  options: ClusterOptions,
  body: (client: KubeClient, log: StatusLog) => Promise<void>,
): Promise<void> {
  const log = statusLog();
  try {
    const client = await loadClient(options);
    try {
      await body(client, log);
    } finally {
      await client.close();
    }
  } catch (error) {
    if (!(error instanceof ReportedFailure))
      log.failure(error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
  }
}
