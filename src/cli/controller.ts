// `sluice controller`: the flags of the controller process (Flux's names), parsed into its options; the process
// itself (servers, leader election, the controllers until SIGTERM or SIGINT) is src/controllers/process.ts.
import { Command, InvalidArgumentError, Option } from 'commander';
import { booleanOption, durationMs, wholeNumber, featureGates, type FeatureGates } from './flags.ts';
import { createLogger } from '../runtime/logger.ts';
import { defaultLeaderElectionTimings } from '../runtime/leaderelection.ts';
import { runControllerProcess } from '../controllers/process.ts';
import { podNamespace } from '../kube/incluster.ts';

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
  sopsAgeSecret?: string;
  storagePath?: string;
  storageAdvAddr?: string;
  storageAddr: string;
  eventsAddr?: string;
  featureGates?: FeatureGates;
  logLevel: string;
  metricsAddr: string;
  healthAddr: string;
  enableLeaderElection: boolean;
  leaderElectionLeaseDuration: number;
  leaderElectionRenewDeadline: number;
  leaderElectionRetryPeriod: number;
  leaderElectionNamespace?: string;
}

function durationOption(flags: string, description: string, defaultMs: number): Option {
  return new Option(flags, description).argParser(durationMs).default(defaultMs, `${defaultMs / 1000}s`);
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
          'refuse kustomize bases fetched from remote URLs (always: a build has no network, so false is refused)',
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
        '--sops-age-secret <name>',
        "Secret in the controller's namespace whose *.agekey entries decrypt the Kustomizations whose spec.decryption names no secretRef (Flux's --sops-age-secret)",
      )
      .option(
        '--failed-job-log-lines <lines>',
        "a failed Job's Warning event carries this many of its last log lines, so the reason outlives its pods (0: off; logs may hold what events should not, so it is opt-in)",
        wholeNumber(0),
        0,
      )
      .option(
        '--feature-gates <gates>',
        "Flux's feature gates: StrictPostBuildSubstitutions (default true), CancelHealthCheckOnNewRevision (default false), e.g. StrictPostBuildSubstitutions=false",
        featureGates,
      )
      .option(
        '--events-addr <url>',
        "where events are posted in Flux's format too: notification-controller's address, as for Flux's controllers",
      )
      .option('--storage-path <dir>', 'where artifacts are stored (default: a temporary directory)')
      .option(
        '--storage-addr <address>',
        'where the artifacts are served over HTTP, as source-controller serves them ("0" turns it off)',
        ':9090',
      )
      .option(
        '--storage-adv-addr <address>',
        'the host[:port] advertised in artifact URLs (default: sluice-controller.$RUNTIME_NAMESPACE.svc.cluster.local.)',
      )
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
        // The environment is read here, at the edge: the pod's namespace, from the Downward API.
        const runtimeNamespace = process.env.RUNTIME_NAMESPACE || undefined;
        if (!flags.watchAllNamespaces && !runtimeNamespace) {
          throw new InvalidArgumentError(
            '--watch-all-namespaces=false needs RUNTIME_NAMESPACE to name the namespace to watch',
          );
        }
        const electionNamespace = flags.enableLeaderElection
          ? flags.leaderElectionNamespace || runtimeNamespace || podNamespace()
          : undefined;
        if (flags.enableLeaderElection && !electionNamespace) {
          throw new InvalidArgumentError(
            '--enable-leader-election needs a namespace for its Lease: set --leader-election-namespace or RUNTIME_NAMESPACE',
          );
        }
        if (!flags.remoteBases) {
          throw new InvalidArgumentError(
            '--no-remote-bases=false is not supported: sluice builds with no network, so remote bases cannot be fetched; copy them into the repository or include their GitRepository with spec.include',
          );
        }
        const shutdown = new AbortController();
        for (const signal of ['SIGTERM', 'SIGINT'] as const) {
          process.once(signal, () => {
            log.info({ signal }, 'shutting down');
            shutdown.abort();
          });
        }
        await runControllerProcess(
          {
            kubeconfig: flags.kubeconfig,
            context: flags.context,
            log,
            runtimeNamespace,
            concurrent: flags.concurrent,
            requeueDependencyMs: flags.requeueDependency,
            watchNamespace: flags.watchAllNamespaces ? undefined : runtimeNamespace,
            watchLabelSelector: flags.watchLabelSelector,
            noCrossNamespaceRefs: flags.crossNamespaceRefs,
            defaultServiceAccount: flags.defaultServiceAccount,
            failedJobLogLines: flags.failedJobLogLines,
            sopsAgeSecret: flags.sopsAgeSecret,
            storagePath: flags.storagePath,
            storageAdvertiseBase: flags.storageAdvAddr,
            storageAddr: flags.storageAddr === '0' ? undefined : flags.storageAddr,
            eventsAddr: flags.eventsAddr,
            featureGates: flags.featureGates,
            metricsAddr: flags.metricsAddr,
            healthAddr: flags.healthAddr,
            leaderElection: electionNamespace
              ? {
                  namespace: electionNamespace,
                  leaseDurationMs: flags.leaderElectionLeaseDuration,
                  renewDeadlineMs: flags.leaderElectionRenewDeadline,
                  retryPeriodMs: flags.leaderElectionRetryPeriod,
                }
              : undefined,
          },
          shutdown.signal,
        );
      })
  );
}
