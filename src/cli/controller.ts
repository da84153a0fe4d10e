// `sluice controller`: runs the GitRepository and Kustomization controllers until SIGTERM or SIGINT, then
// stops taking work, lets reconciles in progress end, and exits. Flags keep Flux's names. With leader
// election, only the lease holder runs the controllers; losing the lease exits with 1 so Kubernetes restarts
// the pod as a standby, as controller-runtime does.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { KubeClient } from '../kube/client.ts';
import { durationMs, wholeNumber } from './output.ts';
import { createLogger, type Logger } from '../runtime/logger.ts';
import { Metrics } from '../runtime/metrics.ts';
import { parseListenAddress, serve, type HttpServer, type Route } from '../runtime/server.ts';
import { LeaderElector, defaultIdentity, defaultLeaderElectionTimings } from '../runtime/leaderelection.ts';
import { runControllers } from '../controllers/run.ts';
import { controllerLeaseName as leaseName } from '../install/manifests.ts';
import { serviceAccountRoot } from '../kube/incluster.ts';

function parseBoolean(value: string): boolean {
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new InvalidArgumentError('expected true or false');
}

/** A Flux-style boolean flag: `--flag`, `--flag=true` or `--flag=false`. */
function booleanOption(flags: string, description: string, defaultValue: boolean): Option {
  return new Option(`${flags} [bool]`, description)
    .argParser(parseBoolean)
    .preset('true')
    .default(defaultValue);
}

interface ControllerFlags {
  kubeconfig?: string;
  context?: string;
  concurrent: number;
  requeueDependency: number;
  watchAllNamespaces: boolean;
  watchLabelSelector?: string;
  /** Set by --no-remote-bases: commander files a "--no-" flag under the name without "no". */
  remoteBases: boolean;
  /** Set by --no-cross-namespace-refs, filed the same way. */
  crossNamespaceRefs: boolean;
  defaultServiceAccount?: string;
  failedJobLogLines: number;
  storagePath?: string;
  storageAdvAddr?: string;
  logLevel: string;
  metricsAddr: string;
  healthAddr: string;
  enableLeaderElection: boolean;
  leaderElectionLeaseDuration: number;
  leaderElectionRenewDeadline: number;
  leaderElectionRetryPeriod: number;
  leaderElectionNamespace?: string;
}

/**
 * What /readyz reports. A standby waiting for the lease is ready (it is healthy and a rollout must not wait
 * for it to lead); a leader is ready once its informers have synced.
 */
type Phase = 'standby' | 'starting' | 'running' | 'stopping';

function durationOption(flags: string, description: string, defaultMs: number): Option {
  return new Option(flags, description).argParser(durationMs).default(defaultMs, `${defaultMs / 1000}s`);
}

/** The lease's namespace: the flag, else $RUNTIME_NAMESPACE, else the pod's own namespace. */
function leaseNamespace(flag: string | undefined): string {
  const namespace = flag || process.env.RUNTIME_NAMESPACE;
  if (namespace) return namespace;
  try {
    return readFileSync(path.join(serviceAccountRoot(), 'namespace'), 'utf8').trim();
  } catch {
    throw new InvalidArgumentError(
      '--enable-leader-election needs a namespace for its Lease: set --leader-election-namespace or RUNTIME_NAMESPACE',
    );
  }
}

/** Serves /metrics and the probes; "0" turns either off, as in controller-runtime. */
async function startServers(
  flags: ControllerFlags,
  metrics: Metrics,
  phase: () => Phase,
  log: Logger,
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
  const listeners: { address: string; routes: Record<string, Route>; serving: string }[] = [];
  // ":0" twice means two ephemeral ports; any other repeated address means one server for both.
  if (
    flags.metricsAddr !== '0' &&
    flags.metricsAddr === flags.healthAddr &&
    parseListenAddress(flags.healthAddr).port !== 0
  ) {
    listeners.push({
      address: flags.healthAddr,
      routes: { ...probes, ...metricsRoutes },
      serving: 'serving metrics and health probes',
    });
  } else {
    if (flags.metricsAddr !== '0')
      listeners.push({ address: flags.metricsAddr, routes: metricsRoutes, serving: 'serving metrics' });
    if (flags.healthAddr !== '0')
      listeners.push({ address: flags.healthAddr, routes: probes, serving: 'serving health probes' });
  }
  const servers: HttpServer[] = [];
  try {
    for (const listener of listeners) {
      const server = await serve(listener.address, listener.routes);
      servers.push(server);
      log.info({ address: server.address }, listener.serving);
    }
  } catch (error) {
    // A server left listening would keep the process alive after the error is reported.
    await Promise.all(servers.map((s) => s.close()));
    throw error;
  }
  return servers;
}

export function controllerCommand(): Command {
  return (
    new Command('controller')
      .description('run the GitRepository and Kustomization controllers')
      .option('--kubeconfig <path>', 'kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or in-cluster)')
      .option('--context <name>', 'kubeconfig context to use')
      .option('--concurrent <n>', 'Kustomizations reconciled in parallel', wholeNumber(1), 4)
      .addOption(
        new Option(
          '--requeue-dependency <duration>',
          'how soon to retry an unready dependency or missing artifact',
        )
          .argParser(durationMs)
          .default(30_000, '30s'),
      )
      .addOption(
        booleanOption(
          '--watch-all-namespaces',
          'watch every namespace; false watches only $RUNTIME_NAMESPACE',
          true,
        ),
      )
      .option('--watch-label-selector <selector>', 'reconcile only objects with these labels (sharding)')
      // Unlike Flux, remote bases are refused unless asked for: a build should only read the artifact.
      .addOption(
        booleanOption(
          '--no-remote-bases',
          'refuse kustomize bases fetched from remote URLs (false allows them)',
          true,
        ),
      )
      .addOption(
        booleanOption(
          '--no-cross-namespace-refs',
          "refuse a Kustomization whose sourceRef is in another namespace (a tenant cannot read another's source)",
          false,
        ),
      )
      .option(
        '--default-service-account <name>',
        "service account to impersonate, in the Kustomization's namespace, when it sets no serviceAccountName",
      )
      .option(
        '--failed-job-log-lines <lines>',
        "a failed Job's Warning event carries this many of its last log lines, so the reason outlives its pods (0: off; logs may hold what events should not, so it is opt-in)",
        wholeNumber(0),
        0,
      )
      .option('--storage-path <dir>', 'where artifacts are stored (default: a temporary directory)')
      .option('--storage-adv-addr <url>', 'base URL advertised in artifact URLs')
      .option('--log-level <level>', 'debug, info or error', 'info')
      .option('--metrics-addr <address>', 'where /metrics is served ("0" turns it off)', ':8080')
      .option(
        '--health-addr <address>',
        'where /healthz and /readyz are served ("0" turns them off)',
        ':9440',
      )
      .addOption(
        booleanOption(
          '--enable-leader-election',
          'run the controllers only while holding a Lease, so replicas can stand by',
          false,
        ),
      )
      .addOption(
        durationOption(
          '--leader-election-lease-duration <duration>',
          'how long a standby waits on an unrenewed lease before taking it',
          defaultLeaderElectionTimings.leaseDurationMs,
        ),
      )
      .addOption(
        durationOption(
          '--leader-election-renew-deadline <duration>',
          'how long the leader retries renewing before it gives up leadership',
          defaultLeaderElectionTimings.renewDeadlineMs,
        ),
      )
      .addOption(
        durationOption(
          '--leader-election-retry-period <duration>',
          'time between attempts to acquire or renew the lease',
          defaultLeaderElectionTimings.retryPeriodMs,
        ),
      )
      .option(
        '--leader-election-namespace <namespace>',
        "the Lease's namespace (default: $RUNTIME_NAMESPACE, or the pod's namespace)",
      )
      .action(async (flags: ControllerFlags) => {
        const log = createLogger({ level: flags.logLevel });
        const namespace = process.env.RUNTIME_NAMESPACE;
        if (!flags.watchAllNamespaces && !namespace) {
          throw new InvalidArgumentError(
            '--watch-all-namespaces=false needs RUNTIME_NAMESPACE to name the namespace to watch',
          );
        }
        // client-go's own checks, so a standby cannot take a lease its holder still means to renew.
        if (flags.leaderElectionRenewDeadline >= flags.leaderElectionLeaseDuration) {
          throw new InvalidArgumentError(
            '--leader-election-renew-deadline must be shorter than the lease duration',
          );
        }
        if (flags.leaderElectionRenewDeadline <= 1.2 * flags.leaderElectionRetryPeriod) {
          throw new InvalidArgumentError(
            '--leader-election-renew-deadline must be longer than 1.2 × --leader-election-retry-period',
          );
        }
        const electionNamespace = flags.enableLeaderElection
          ? leaseNamespace(flags.leaderElectionNamespace)
          : undefined;
        const client = await KubeClient.load({ kubeconfig: flags.kubeconfig, context: flags.context });
        const metrics = new Metrics();
        metrics.collectProcessMetrics();
        let phase: Phase = electionNamespace ? 'standby' : 'starting';
        const servers = await startServers(flags, metrics, () => phase, log).catch(async (error: unknown) => {
          await client.close();
          throw error;
        });
        const shutdown = new AbortController();
        const stopping = new Promise<void>((resolve) =>
          shutdown.signal.addEventListener('abort', () => resolve()),
        );
        for (const signal of ['SIGTERM', 'SIGINT'] as const) {
          process.once(signal, () => {
            log.info({ signal }, 'shutting down');
            shutdown.abort();
          });
        }
        const closeAll = async () => {
          await Promise.all(servers.map((s) => s.close()));
          await client.close();
          log.info('stopped');
        };

        let leader: LeaderElector | undefined;
        if (electionNamespace) {
          leader = new LeaderElector({
            client,
            namespace: electionNamespace,
            name: leaseName,
            identity: defaultIdentity(),
            leaseDurationMs: flags.leaderElectionLeaseDuration,
            renewDeadlineMs: flags.leaderElectionRenewDeadline,
            retryPeriodMs: flags.leaderElectionRetryPeriod,
            log,
          });
          metrics.recordLeader(leaseName, false);
          if (!(await leader.acquire(shutdown.signal))) return closeAll();
          metrics.recordLeader(leaseName, true);
          // Another replica may take over as soon as the lease expires: stop at once, as controller-runtime does.
          void leader.lost.then(() => {
            log.error('leader election lost');
            process.exit(1);
          });
          phase = 'starting';
        }
        const controllers = await runControllers({
          client,
          log,
          concurrent: flags.concurrent,
          requeueDependencyMs: flags.requeueDependency,
          watchNamespace: flags.watchAllNamespaces ? undefined : namespace,
          watchLabelSelector: flags.watchLabelSelector,
          noRemoteBases: flags.remoteBases,
          noCrossNamespaceRefs: flags.crossNamespaceRefs,
          defaultServiceAccount: flags.defaultServiceAccount,
          failedJobLogLines: flags.failedJobLogLines,
          storagePath: flags.storagePath,
          storageAdvertiseBase: flags.storageAdvAddr,
          metrics,
        });
        phase = 'running';
        log.info(
          { server: client.server, namespace: flags.watchAllNamespaces ? '*' : namespace },
          'controllers started',
        );
        await stopping;
        phase = 'stopping';
        await controllers.stop();
        // Only after the controllers have stopped: a standby must not start while this process still writes.
        await leader?.release();
        await closeAll();
      })
  );
}
