// The controller process, as controller-runtime's manager runs one: the metrics and probe servers, leader
// election on a Lease (only the holder runs the controllers; losing the lease exits 1 so Kubernetes restarts
// the pod as a standby), then the controllers until shutdown: stop taking work, let reconciles in progress
// end, release the Lease. `sluice controller` parses its flags into these options.
import { KubeClient } from '../kube/client.ts';
import type { Logger } from '../runtime/logger.ts';
import { Metrics } from '../runtime/metrics.ts';
import { parseListenAddress, serve, type HttpServer, type Route } from '../runtime/server.ts';
import { LeaderElector, defaultIdentity, type LeaderElectionTimings } from '../runtime/leaderelection.ts';
import { shardLeaseName } from '../install/manifests.ts';
import { runControllers, type ControllerOptions } from './run.ts';

export interface ProcessOptions extends Omit<ControllerOptions, 'client' | 'log' | 'metrics'> {
  kubeconfig?: string;
  context?: string;
  log: Logger;
  /** Where /metrics is served ("0": not at all). */
  metricsAddr: string;
  /** Where /healthz and /readyz are served ("0": not at all). */
  healthAddr: string;
  /** Run the controllers only while holding the Lease in this namespace. */
  leaderElection?: LeaderElectionTimings & { namespace: string };
}

/**
 * What /readyz reports. A standby waiting for the lease is ready (it is healthy and a rollout must not wait
 * for it to lead); a leader is ready once its informers have synced.
 */
type Phase = 'standby' | 'starting' | 'running' | 'stopping';

/** client-go's checks, so that a standby cannot take a lease its holder still means to renew. */
export function checkLeaderElectionTimings(timings: LeaderElectionTimings): void {
  if (timings.renewDeadlineMs >= timings.leaseDurationMs) {
    throw new Error('--leader-election-renew-deadline must be shorter than the lease duration');
  }
  if (timings.renewDeadlineMs <= 1.2 * timings.retryPeriodMs) {
    throw new Error(
      '--leader-election-renew-deadline must be longer than 1.2 × --leader-election-retry-period',
    );
  }
}

/** Runs the controller process until `shutdown` aborts. */
export async function runControllerProcess(options: ProcessOptions, shutdown: AbortSignal): Promise<void> {
  const { log } = options;
  if (options.leaderElection) checkLeaderElectionTimings(options.leaderElection);
  const client = await KubeClient.load({ kubeconfig: options.kubeconfig, context: options.context });
  const metrics = new Metrics();
  metrics.collectProcessMetrics();
  let phase: Phase = options.leaderElection ? 'standby' : 'starting';
  let servers: HttpServer[] = [];
  try {
    servers = await startServers(options, metrics, () => phase);
    let leader: LeaderElector | undefined;
    if (options.leaderElection) {
      const leaseName = shardLeaseName(options.watchLabelSelector);
      leader = new LeaderElector({
        ...options.leaderElection,
        client,
        name: leaseName,
        identity: defaultIdentity(),
        log,
      });
      metrics.recordLeader(leaseName, false);
      if (!(await leader.acquire(shutdown))) return;
      metrics.recordLeader(leaseName, true);
      // Another replica may take over as soon as the lease expires: stop at once, as controller-runtime does.
      void leader.lost.then(() => {
        log.error('leader election lost');
        process.exit(1);
      });
      phase = 'starting';
    }
    const controllers = await runControllers({ ...options, client, metrics });
    phase = 'running';
    log.info({ server: client.server, namespace: options.watchNamespace ?? '*' }, 'controllers started');
    await new Promise<void>((resolve) => {
      if (shutdown.aborted) resolve();
      else shutdown.addEventListener('abort', () => resolve(), { once: true });
    });
    phase = 'stopping';
    await controllers.stop();
    // Only after the controllers have stopped: a standby must not start while this process still writes.
    await leader?.release();
  } finally {
    await Promise.all(servers.map((s) => s.close()));
    await client.close();
    log.info('stopped');
  }
}

/** Serves /metrics and the probes; "0" turns either off, as in controller-runtime. */
async function startServers(
  options: ProcessOptions,
  metrics: Metrics,
  phase: () => Phase,
): Promise<HttpServer[]> {
  const probes: Record<string, Route> = {
    '/healthz': () => ({ status: 200, body: 'ok\n' }),
    '/readyz': () => {
      const current = phase();
      const ready = current === 'standby' || current === 'running';
      return { status: ready ? 200 : 503, body: ready ? 'ok\n' : `${current}\n` };
    },
  };
  const metricsRoutes: Record<string, Route> = {
    '/metrics': async () => ({ status: 200, body: await metrics.render(), contentType: metrics.contentType }),
  };
  const { metricsAddr, healthAddr } = options;
  const listeners: { address: string; routes: Record<string, Route>; serving: string }[] = [];
  // ":0" twice means two ephemeral ports; any other repeated address means one server for both.
  if (metricsAddr !== '0' && metricsAddr === healthAddr && parseListenAddress(healthAddr).port !== 0) {
    listeners.push({
      address: healthAddr,
      routes: { ...probes, ...metricsRoutes },
      serving: 'serving metrics and health probes',
    });
  } else {
    if (metricsAddr !== '0')
      listeners.push({ address: metricsAddr, routes: metricsRoutes, serving: 'serving metrics' });
    if (healthAddr !== '0')
      listeners.push({ address: healthAddr, routes: probes, serving: 'serving health probes' });
  }
  const servers: HttpServer[] = [];
  try {
    for (const listener of listeners) {
      const server = await serve(listener.address, listener.routes);
      servers.push(server);
      options.log.info({ address: server.address }, listener.serving);
    }
  } catch (error) {
    // A server left listening would keep the process alive after the error is reported.
    await Promise.all(servers.map((s) => s.close()));
    throw error;
  }
  return servers;
}
