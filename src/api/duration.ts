// Go-style durations as Flux's CRDs accept them ("1m30s", "1.5h", "500ms"), and formatted back the way Go's
// time.Duration.String() prints them, because Flux's messages ("with a timeout of 5m0s") show them that way.
import type { GitRepositorySpec } from './gitrepository.ts';
import { defaultGitTimeout } from './gitrepository.ts';
import type { KustomizationSpec } from './kustomization.ts';

/** The CRD pattern for intervals and Kustomization timeouts. */
export const durationPattern = '^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$';
/** The CRD pattern for the GitRepository clone timeout: no hours. */
export const shortDurationPattern = '^([0-9]+(\\.[0-9]+)?(ms|s|m))+$';

const NS_PER_MS = 1_000_000n;
const nsPerUnit: Record<string, bigint> = {
  ms: NS_PER_MS,
  s: 1000n * NS_PER_MS,
  m: 60_000n * NS_PER_MS,
  h: 3_600_000n * NS_PER_MS,
};
// Go's time.Duration is an int64 count of nanoseconds.
const MAX_NS = 2n ** 63n - 1n;
const term = /([0-9]+)(?:\.([0-9]+))?(ms|s|m|h)/y;

/**
 * Parses a duration matching the CRD pattern into milliseconds (fractions of a millisecond are kept).
 * `field` names where the value came from, for the error message.
 */
export function parseDuration(value: string, field = 'duration'): number {
  const invalid = (why: string) =>
    new Error(
      `invalid ${field} ${JSON.stringify(value)}: ${why}; write a Go duration such as 30s, 5m, 1h30m or 1.5h ` +
        '(units ms, s, m, h)',
    );
  if (typeof value !== 'string' || value === '') throw invalid('it is empty');
  let ns = 0n;
  term.lastIndex = 0;
  while (term.lastIndex < value.length) {
    const at = term.lastIndex;
    const match = term.exec(value);
    if (!match) {
      const rest = JSON.stringify(value.slice(at));
      throw invalid(
        at === 0 ? 'it does not start with a number and a unit' : `${rest} is not a number and a unit`,
      );
    }
    const [, whole = '', fraction = '', unit = ''] = match;
    const perUnit = nsPerUnit[unit] ?? 0n;
    ns += BigInt(whole) * perUnit;
    if (fraction) ns += (BigInt(fraction) * perUnit) / 10n ** BigInt(fraction.length);
    if (ns > MAX_NS) throw invalid('it is longer than the longest Go duration (about 292 years)');
  }
  return Number(ns / NS_PER_MS) + Number(ns % NS_PER_MS) / 1e6;
}

/** Formats milliseconds exactly as Go's time.Duration.String(): `59m30s`, `5m0s`, `1.2s`, `1h0m0s`, `500ms`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) throw new Error(`cannot format ${ms} as a duration: it is not a finite number`);
  const whole = Math.trunc(ms);
  const total = BigInt(whole) * NS_PER_MS + BigInt(Math.round((ms - whole) * 1e6));
  const sign = total < 0n ? '-' : '';
  const ns = total < 0n ? -total : total;
  if (ns === 0n) return '0s';
  if (ns < 1000n) return `${sign}${ns}ns`;
  if (ns < NS_PER_MS) return `${sign}${decimal(ns, 3)}µs`;
  if (ns < 1000n * NS_PER_MS) return `${sign}${decimal(ns, 6)}ms`;
  const seconds = `${decimal(ns % 60_000_000_000n, 9)}s`;
  const minutes = ns / 60_000_000_000n;
  if (minutes === 0n) return `${sign}${seconds}`;
  const hours = minutes / 60n;
  if (hours === 0n) return `${sign}${minutes}m${seconds}`;
  return `${sign}${hours}h${minutes % 60n}m${seconds}`;
}

/** `value / 10^digits` in decimal, without trailing zeros in the fraction (and no point when it is whole). */
function decimal(value: bigint, digits: number): string {
  const scale = 10n ** BigInt(digits);
  const fraction = (value % scale).toString().padStart(digits, '0').replace(/0+$/, '');
  return fraction ? `${value / scale}.${fraction}` : `${value / scale}`;
}

const minimumKustomizationTimeoutMs = 30_000;

/** The Kustomization's requeue period after a success, in milliseconds. */
export function intervalOf(spec: Pick<KustomizationSpec, 'interval'>): number {
  return parseDuration(spec.interval, 'spec.interval');
}

/**
 * The Kustomization's timeout in milliseconds: `spec.timeout`, else `interval` − 30s; either way at least 30s
 * (Flux floors explicit values too, so `timeout: 10s` means 30s).
 */
export function timeoutOf(spec: Pick<KustomizationSpec, 'interval' | 'timeout'>): number {
  const ms =
    spec.timeout === undefined
      ? intervalOf(spec) - minimumKustomizationTimeoutMs
      : parseDuration(spec.timeout, 'spec.timeout');
  return Math.max(ms, minimumKustomizationTimeoutMs);
}

/** The Kustomization's requeue period after a failure, in milliseconds: `spec.retryInterval`, else `interval`. */
export function retryIntervalOf(spec: Pick<KustomizationSpec, 'interval' | 'retryInterval'>): number {
  return spec.retryInterval === undefined
    ? intervalOf(spec)
    : parseDuration(spec.retryInterval, 'spec.retryInterval');
}

/** The GitRepository clone timeout in milliseconds: `spec.timeout`, else 60s. */
export function gitRepositoryTimeoutOf(spec: Pick<GitRepositorySpec, 'timeout'>): number {
  return parseDuration(spec.timeout ?? defaultGitTimeout, 'spec.timeout');
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
