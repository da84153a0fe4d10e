// Leader election on a coordination.k8s.io/v1 Lease with client-go's semantics, so replicas of sluice (and
// tools that read Leases) behave as they do with Flux: one holder at a time, renewed before a deadline,
// written with optimistic concurrency, and released on a clean shutdown so a standby takes over at once. The
// holder also records its sluice version on the Lease, for `sluice check`.
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { KubeClient } from '../kube/client.ts';
import { isNotFound, isConflict } from '../kube/errors.ts';
import { silentLogger, type Logger } from './logger.ts';
import { sluiceVersion } from '../version.ts';

/** The annotation on the Lease naming the sluice version of the replica that last acquired or renewed it. */
export const leaseVersionAnnotation = 'sluice.dev/version';

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  /** MicroTime: RFC 3339 with six fractional digits. */
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface Lease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: {
    name: string;
    namespace: string;
    resourceVersion?: string;
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
  spec?: LeaseSpec;
}

/** The lease's metadata with the holder's version annotation set, every other field kept. */
export function withHolderVersion(metadata: Lease['metadata'], version: string): Lease['metadata'] {
  return { ...metadata, annotations: { ...metadata.annotations, [leaseVersionAnnotation]: version } };
}

export interface LeaderElectionTimings {
  /** How long a standby waits, after it last saw the lease change, before taking it over. */
  leaseDurationMs: number;
  /** How long the leader keeps retrying a failed renewal before it gives up leadership. */
  renewDeadlineMs: number;
  /** Time between attempts to acquire or renew. */
  retryPeriodMs: number;
}

/** Flux's defaults (--leader-election-lease-duration, -renew-deadline, -retry-period). */
export const defaultLeaderElectionTimings: LeaderElectionTimings = {
  leaseDurationMs: 35_000,
  renewDeadlineMs: 30_000,
  retryPeriodMs: 5_000,
};

/** controller-runtime's identity: the hostname (the pod name in a cluster) and a random suffix. */
export function defaultIdentity(): string {
  return `${hostname()}_${randomUUID()}`;
}

/** A metav1.MicroTime; the API server parses exactly six fractional digits. */
export function microTime(date: Date): string {
  return date.toISOString().replace(/Z$/, '000Z');
}

/**
 * client-go's rule: a lease someone else holds stays theirs until its duration has passed since this process
 * last saw it change. The local clock is compared with itself only, never with the holder's renewTime.
 */
export function mayAcquire(
  spec: LeaseSpec | undefined,
  identity: string,
  observedAtMs: number,
  nowMs: number,
): boolean {
  if (!spec?.holderIdentity || spec.holderIdentity === identity) return true;
  return observedAtMs + (spec.leaseDurationSeconds ?? 0) * 1000 <= nowMs;
}

/** The record to write: the holder keeps its acquireTime; a new holder counts one more transition. */
export function nextLeaseSpec(
  current: LeaseSpec | undefined,
  identity: string,
  now: Date,
  leaseDurationSeconds: number,
): LeaseSpec {
  const time = microTime(now);
  const renewing = current?.holderIdentity === identity;
  return {
    holderIdentity: identity,
    leaseDurationSeconds,
    acquireTime: renewing ? (current?.acquireTime ?? time) : time,
    renewTime: time,
    leaseTransitions: current ? (current.leaseTransitions ?? 0) + (renewing ? 0 : 1) : 0,
  };
}

/** What a clean shutdown writes (client-go's ReleaseOnCancel): no holder, and a one-second duration. */
export function releasedLeaseSpec(current: LeaseSpec | undefined, now: Date): LeaseSpec {
  const time = microTime(now);
  return {
    holderIdentity: '',
    leaseDurationSeconds: 1,
    acquireTime: time,
    renewTime: time,
    leaseTransitions: current?.leaseTransitions ?? 0,
  };
}

export interface LeaderElectorOptions extends LeaderElectionTimings {
  client: KubeClient;
  namespace: string;
  name: string;
  identity: string;
  /** Recorded on the Lease while this process holds it; default: this sluice's version. */
  version?: string;
  log?: Logger;
}

export class LeaderElector {
  /** Resolves if this process fails to renew the lease within the renew deadline. */
  readonly lost: Promise<void>;
  private readonly options: LeaderElectorOptions;
  private readonly log: Logger;
  private readonly stopRenewing = new AbortController();
  private markLost: () => void = () => undefined;
  private observed: Lease | undefined;
  private observedSpec = '';
  private observedAtMs = 0;
  private leading = false;
  private renewing: Promise<void> | undefined;

  constructor(options: LeaderElectorOptions) {
    this.options = options;
    this.log = (options.log ?? silentLogger).child({
      lease: `${options.namespace}/${options.name}`,
      identity: options.identity,
    });
    this.lost = new Promise((resolve) => (this.markLost = resolve));
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Tries every retry period until this process holds the lease, then keeps renewing it; false if aborted. */
  async acquire(signal: AbortSignal): Promise<boolean> {
    this.log.info('attempting to acquire leader lease');
    while (!signal.aborted) {
      if (await this.tryAcquireOrRenew(signal)) {
        this.leading = true;
        this.log.info('successfully acquired lease');
        this.renewing = this.renewLoop();
        return true;
      }
      // client-go's JitterUntil(retryPeriod, 1.2): standbys do not retry in lockstep.
      await sleep(this.options.retryPeriodMs * (1 + Math.random() * 1.2), signal);
    }
    return false;
  }

  /** Stops renewing and, if this process still leads, hands the lease back so a standby need not wait. */
  async release(): Promise<void> {
    this.stopRenewing.abort();
    await this.renewing;
    if (!this.leading || !this.observed) return;
    this.leading = false;
    try {
      await this.options.client.request('PUT', this.path(), {
        body: { ...this.observed, spec: releasedLeaseSpec(this.observed.spec, new Date()) },
        signal: AbortSignal.timeout(this.options.renewDeadlineMs),
      });
      this.log.info('released leader lease');
    } catch (error) {
      this.log.error({ error: String(error) }, 'failed to release leader lease');
    }
  }

  private async renewLoop(): Promise<void> {
    const { retryPeriodMs, renewDeadlineMs } = this.options;
    const stop = this.stopRenewing.signal;
    for (;;) {
      await sleep(retryPeriodMs, stop);
      const deadline = Date.now() + renewDeadlineMs;
      let renewed = false;
      while (!renewed && !stop.aborted && Date.now() < deadline) {
        const attempt = AbortSignal.any([stop, AbortSignal.timeout(Math.max(1, deadline - Date.now()))]);
        renewed = await this.tryAcquireOrRenew(attempt);
        if (!renewed) await sleep(Math.min(retryPeriodMs, deadline - Date.now()), stop);
      }
      if (stop.aborted) return;
      if (!renewed) {
        this.leading = false;
        this.log.error({ renewDeadlineMs }, 'failed to renew leader lease within the renew deadline');
        this.markLost();
        return;
      }
    }
  }

  private async tryAcquireOrRenew(signal: AbortSignal): Promise<boolean> {
    const { client, identity, leaseDurationMs } = this.options;
    const leaseDurationSeconds = Math.ceil(leaseDurationMs / 1000);
    const now = new Date();
    let lease: Lease;
    try {
      lease = await client.request<Lease>('GET', this.path(), { signal });
    } catch (error) {
      if (signal.aborted) return false;
      if (!isNotFound(error)) {
        this.log.error({ error: String(error) }, 'error retrieving leader lease');
        return false;
      }
      return this.write(
        'POST',
        this.path(''),
        {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: withHolderVersion(
            { name: this.options.name, namespace: this.options.namespace },
            this.options.version ?? sluiceVersion,
          ),
          spec: nextLeaseSpec(undefined, identity, now, leaseDurationSeconds),
        },
        signal,
      );
    }
    const spec = JSON.stringify(lease.spec ?? {});
    if (spec !== this.observedSpec) {
      this.observedSpec = spec;
      this.observedAtMs = now.getTime();
    }
    this.observed = lease;
    if (!mayAcquire(lease.spec, identity, this.observedAtMs, now.getTime())) {
      this.log.debug(
        { holder: lease.spec?.holderIdentity },
        'lease is held by another and has not yet expired',
      );
      return false;
    }
    // The read resourceVersion travels with the update: a concurrent writer makes it fail with a Conflict.
    return this.write(
      'PUT',
      this.path(),
      {
        ...lease,
        metadata: withHolderVersion(lease.metadata, this.options.version ?? sluiceVersion),
        spec: nextLeaseSpec(lease.spec, identity, now, leaseDurationSeconds),
      },
      signal,
    );
  }

  private async write(
    method: 'POST' | 'PUT',
    path: string,
    body: Lease,
    signal?: AbortSignal,
  ): Promise<boolean> {
    try {
      const written = await this.options.client.request<Lease>(method, path, { body, signal });
      this.observed = written;
      this.observedSpec = JSON.stringify(written.spec ?? {});
      this.observedAtMs = Date.now();
      return true;
    } catch (error) {
      if (signal?.aborted) return false;
      // Another replica wrote first (a Conflict, or AlreadyExists on create): it wins this round.
      if (isConflict(error)) this.log.debug({ error: String(error) }, 'lease was written concurrently');
      else
        this.log.error(
          { error: String(error) },
          `failed to ${method === 'POST' ? 'create' : 'update'} leader lease`,
        );
      return false;
    }
  }

  private path(name: string = this.options.name): string {
    const collection = `/apis/coordination.k8s.io/v1/namespaces/${this.options.namespace}/leases`;
    return name ? `${collection}/${name}` : collection;
  }
}

/** Waits `ms`, or less if `signal` aborts; never rejects. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
}
