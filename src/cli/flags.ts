// The flags the commands share: --kubeconfig, --context and -n/--namespace with Flux's namespace default, and
// the parsers of whole numbers, durations and Flux-style booleans.
import { InvalidArgumentError, Option, type Command } from 'commander';
import { KubeClient } from '../kube/client.ts';
import { parseDuration } from '../api/duration.ts';
import { errorMessage } from '../errors.ts';

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
    throw new InvalidArgumentError(errorMessage(error));
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

function parseBoolean(value: string): boolean {
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new InvalidArgumentError('expected true or false');
}

/** A Flux-style (cobra) boolean flag: `--flag`, `--flag=true` or `--flag=false`. */
export function booleanOption(flags: string, description: string, defaultValue: boolean): Option {
  return new Option(`${flags} [bool]`, description)
    .argParser(parseBoolean)
    .preset('true')
    .default(defaultValue);
}

export type OutputFormat = 'table' | 'yaml' | 'json';

/** `-o, --output`: table (the default), yaml or json, as `flux get` takes it. */
export function outputOption(): Option {
  return new Option('-o, --output <format>', 'output format: table, yaml or json')
    .argParser((value: string): OutputFormat => {
      if (value === 'table' || value === 'yaml' || value === 'json') return value;
      throw new InvalidArgumentError('expected table, yaml or json');
    })
    .default('table');
}

/** The feature gates sluice takes, as Flux's kustomize-controller names them. */
const FEATURE_GATES = ['StrictPostBuildSubstitutions', 'CancelHealthCheckOnNewRevision'] as const;
export type FeatureGates = Partial<Record<(typeof FEATURE_GATES)[number], boolean>>;

/** `--feature-gates=A=true,B=false`, as Flux's controllers take it; an unknown gate or value is an error. */
export function featureGates(value: string): FeatureGates {
  const gates: FeatureGates = {};
  for (const pair of value
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [name = '', setting] = pair.split('=');
    if (!(FEATURE_GATES as readonly string[]).includes(name)) {
      throw new InvalidArgumentError(
        `unknown feature gate ${JSON.stringify(name)}; sluice takes ${FEATURE_GATES.join(', ')}`,
      );
    }
    if (setting !== 'true' && setting !== 'false') {
      throw new InvalidArgumentError(
        `feature gate ${name} must be =true or =false, not ${JSON.stringify(pair)}`,
      );
    }
    gates[name as keyof FeatureGates] = setting === 'true';
  }
  return gates;
}
