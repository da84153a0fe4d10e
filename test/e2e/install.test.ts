// Packaging, on a cluster of its own (uninstall deletes the CRDs every other suite uses): `sluice install` puts
// the CRDs, namespace, RBAC and controller Deployment on the cluster; the controller then runs exactly as the
// Deployment runs it (its args and env, the service account token instead of a kubeconfig, so the install's
// RBAC is what is tested), leads, reconciles a Job, and `sluice check` says so; `uninstall` removes sluice and
// leaves what it applied.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import https from 'node:https';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { KubeConfig } from '@kubernetes/client-node';
import { ownClusters, repoRoot, waitForObject, condition } from '../../dev/cluster.ts';
import { runSluice } from '../support/cli.ts';
import { GitServer } from '../../dev/git-server.ts';
import { KubeClient, type KubeObject } from '../../src/kube/client.ts';
import { loadInCluster } from '../../src/kube/incluster.ts';
import { ObjectClient, type ObjectRef } from '../../src/kube/objects.ts';
import { findKustomizeModule } from '../../src/kustomize/build.ts';
import { allCrds } from '../../src/api/crds.ts';
import type { Lease } from '../../src/runtime/leaderelection.ts';

const cluster = ownClusters.install;
const apiserverPort = String(cluster.ports?.apiserver);
const kubeconfig = cluster.kubeconfig;
const cli = path.join(repoRoot, 'src', 'cli', 'main.ts');
const version = (
  JSON.parse(await readFile(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }
).version;

/** The namespace sluice is installed in, and one for what its Kustomization applies. */
const ns = 'sluice-e2e';
const appsNs = 'sluice-e2e-apps';

/** `sluice <args> --kubeconfig <this suite's cluster>`, stdin not a terminal, no colour. */
const sluice = (...args: string[]) => runSluice(args, { kubeconfig });

const lines = (text: string) => text.trimEnd().split('\n');

interface Container {
  image: string;
  args: string[];
  env: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
}

/** The container of the exported Deployment. */
const containerOf = (deployment: KubeObject) =>
  (deployment['spec'] as { template: { spec: { containers: Container[] } } }).template.spec
    .containers[0] as Container;

/** kustomize's WebAssembly module on this machine; the image names its own in SLUICE_KUSTOMIZE_WASM, as here. */
const kustomizeModule = await findKustomizeModule();

/** `sluice controller` as the Deployment runs it, and what it has logged. */
class Controller {
  readonly process: ChildProcess;
  private output = '';

  constructor(args: string[], env: NodeJS.ProcessEnv) {
    this.process = spawn(process.execPath, [cli, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    this.process.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
  }

  get logs(): string {
    return this.output;
  }

  get running(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  /** The first JSON log line with this message, as soon as it is written. */
  waitForLog(msg: string, timeoutMs = 30_000): Promise<Record<string, unknown>> {
    const find = () =>
      this.output
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l['msg'] === msg);
    return new Promise((resolve, reject) => {
      const check = () => {
        const line = find();
        if (line) done(() => resolve(line));
      };
      const exited = () => done(() => reject(new Error(`exited before logging "${msg}":\n${this.logs}`)));
      const timer = setTimeout(
        () => done(() => reject(new Error(`timed out waiting for "${msg}":\n${this.logs}`))),
        timeoutMs,
      );
      const done = (settle: () => void) => {
        clearTimeout(timer);
        this.process.stderr?.off('data', check);
        this.process.off('exit', exited);
        settle();
      };
      this.process.stderr?.on('data', check);
      this.process.once('exit', exited);
      check();
    });
  }
}

describe(
  'sluice install, check and uninstall, and the controller in-cluster',
  { skip: process.env.SLUICE_TEST_KUBECONFIG ? 'needs a local cluster of its own' : false },
  () => {
    let client: KubeClient;
    let objects: ObjectClient;
    let git: GitServer;
    let scratch: string;
    let exported: KubeObject[] = [];
    let controller: Controller | undefined;
    let revision = '';

    const crdRefs: ObjectRef[] = [
      'gitrepositories.source.toolkit.fluxcd.io',
      'ocirepositories.source.toolkit.fluxcd.io',
      'kustomizations.kustomize.toolkit.fluxcd.io',
    ].map((name) => ({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name }));
    const jobRef = { apiVersion: 'batch/v1', kind: 'Job', namespace: appsNs, name: 'migrate' };
    const deploymentRef = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: ns,
      name: 'sluice-controller',
    };
    const leasePath = `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases`;
    const leaseName = 'sluice-controller-leader-election';

    before(async () => {
      await cluster.up();
      client = await KubeClient.load({ kubeconfig });
      objects = new ObjectClient(client);
      git = await GitServer.start();
      scratch = await mkdtemp(path.join(tmpdir(), 'sluice-install-e2e-'));
    });

    after(async () => {
      if (controller?.running) {
        controller.process.kill('SIGKILL');
        await once(controller.process, 'exit');
      }
      await git?.stop();
      await client?.close();
      if (scratch) await rm(scratch, { recursive: true, force: true });
      await cluster.down();
    });

    it('install --export prints the CRDs, namespace, ServiceAccount, binding and Deployment as YAML', async () => {
      const result = await sluice('install', '--export', '-n', ns);
      assert.equal(result.code, 0, result.stderr);
      const documents = parseAllDocuments(result.stdout);
      assert.ok(Array.isArray(documents), 'the output is not a YAML stream');
      for (const d of documents) assert.deepEqual(d.errors, []);
      exported = documents.map((d) => d.toJS() as KubeObject);
      assert.deepEqual(
        exported.map((o) => `${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name}`),
        [
          'CustomResourceDefinition//gitrepositories.source.toolkit.fluxcd.io',
          'CustomResourceDefinition//ocirepositories.source.toolkit.fluxcd.io',
          'CustomResourceDefinition//kustomizations.kustomize.toolkit.fluxcd.io',
          `Namespace//${ns}`,
          `ServiceAccount/${ns}/sluice-controller`,
          `ClusterRoleBinding//sluice-controller-${ns}`,
          `Service/${ns}/sluice-controller`,
          `NetworkPolicy/${ns}/sluice-controller-allow-egress`,
          `NetworkPolicy/${ns}/sluice-controller-allow-scraping`,
          `Deployment/${ns}/sluice-controller`,
        ],
      );
      const binding = exported.find((o) => o.kind === 'ClusterRoleBinding') as KubeObject;
      assert.deepEqual(binding['roleRef'], {
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'ClusterRole',
        name: 'cluster-admin',
      });
      assert.deepEqual(binding['subjects'], [
        { kind: 'ServiceAccount', name: 'sluice-controller', namespace: ns },
      ]);
      const deployment = exported.find((o) => o.kind === 'Deployment') as KubeObject;
      assert.equal(deployment.metadata?.labels?.['app.kubernetes.io/version'], version);
      const container = containerOf(deployment);
      assert.equal(container.image, `sluice-controller:${version}`);
      assert.deepEqual(container.args.slice(0, 2), ['controller', '--enable-leader-election']);
      assert.ok(container.args.includes('--storage-path=/data'), container.args.join(' '));

      const custom = await sluice('install', '--export', '-n', ns, '--image', 'registry.example/sluice:1');
      assert.match(custom.stdout, /image: registry\.example\/sluice:1\n/);
    });

    it('install applies everything in stages and waits until the controller Deployment is available', async () => {
      const result = await sluice('install', '-n', ns, '--timeout', '2m');
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(lines(result.stderr), [
        `► installing components in ${ns} namespace`,
        'CustomResourceDefinition/gitrepositories.source.toolkit.fluxcd.io created',
        'CustomResourceDefinition/kustomizations.kustomize.toolkit.fluxcd.io created',
        'CustomResourceDefinition/ocirepositories.source.toolkit.fluxcd.io created',
        `Namespace/${ns} created`,
        `ClusterRoleBinding/sluice-controller-${ns} created`,
        `ServiceAccount/${ns}/sluice-controller created`,
        `Service/${ns}/sluice-controller created`,
        `Deployment/${ns}/sluice-controller created`,
        `NetworkPolicy/${ns}/sluice-controller-allow-egress created`,
        `NetworkPolicy/${ns}/sluice-controller-allow-scraping created`,
        '✔ CustomResourceDefinition/gitrepositories.source.toolkit.fluxcd.io established',
        '✔ CustomResourceDefinition/ocirepositories.source.toolkit.fluxcd.io established',
        '✔ CustomResourceDefinition/kustomizations.kustomize.toolkit.fluxcd.io established',
        '◎ verifying installation',
        '✔ sluice-controller: deployment ready',
        '✔ install finished',
      ]);
      const deployment = await objects.get(deploymentRef);
      assert.equal(condition(deployment as KubeObject, 'Available')?.status, 'True');
      assert.equal(containerOf(deployment as KubeObject).image, `sluice-controller:${version}`);

      const again = await sluice('install', '-n', ns);
      assert.equal(again.code, 0, again.stderr);
      assert.equal(lines(again.stderr).filter((l) => l.endsWith(' unchanged')).length, 10, again.stderr);
    });

    it("runs the controller as the Deployment does, on the ServiceAccount's token, and reconciles a Job", async () => {
      // A token for the ServiceAccount, as the kubelet mounts one, and the cluster's CA.
      const request = await client.create<{ status: { token: string } }>(
        `/api/v1/namespaces/${ns}/serviceaccounts/sluice-controller/token`,
        { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } },
      );
      const serviceAccount = path.join(scratch, 'serviceaccount');
      await mkdir(serviceAccount);
      await writeFile(path.join(serviceAccount, 'token'), request.status.token);
      await copyFile(path.join(cluster.dir, 'pki', 'ca.crt'), path.join(serviceAccount, 'ca.crt'));
      await writeFile(path.join(serviceAccount, 'namespace'), ns);
      const home = path.join(scratch, 'home');
      const storage = path.join(scratch, 'data');
      await mkdir(home);
      await mkdir(storage);
      const inCluster = {
        KUBERNETES_SERVICE_HOST: '127.0.0.1',
        KUBERNETES_SERVICE_PORT: apiserverPort,
        SLUICE_SERVICE_ACCOUNT_ROOT: serviceAccount,
      };

      // The files alone authenticate as the ServiceAccount.
      const kc = new KubeConfig();
      loadInCluster(kc, serviceAccount, inCluster);
      const review = await postAs(kc, '/apis/authentication.k8s.io/v1/selfsubjectreviews', {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'SelfSubjectReview',
      });
      assert.equal(
        (review as { status: { userInfo: { username: string } } }).status.userInfo.username,
        `system:serviceaccount:${ns}:sluice-controller`,
      );

      // The Deployment's args and env; only what cannot be the same on this machine changes.
      const container = containerOf(exported.find((o) => o.kind === 'Deployment') as KubeObject);
      const local: Record<string, string> = {
        '--storage-path': storage,
        '--metrics-addr': '127.0.0.1:0',
        '--health-addr': '127.0.0.1:0',
        '--storage-addr': '127.0.0.1:0',
      };
      for (const flag of Object.keys(local)) {
        assert.ok(
          container.args.some((a) => a.startsWith(`${flag}=`)),
          `the Deployment sets ${flag}`,
        );
      }
      const args = container.args.map((arg) => {
        const flag = arg.split('=')[0] as string;
        return flag in local ? `${flag}=${local[flag]}` : arg;
      });
      const env: NodeJS.ProcessEnv = {
        // The image's environment (Dockerfile ENV).
        PATH: process.env.PATH,
        SLUICE_KUSTOMIZE_WASM: kustomizeModule,
        HOME: home,
        NODE_ENV: 'production',
        ...inCluster,
      };
      for (const variable of container.env) {
        // What the kubelet does with the only fieldRef the Deployment uses.
        assert.ok(
          variable.value !== undefined || variable.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace',
        );
        env[variable.name] = variable.value ?? ns;
      }
      assert.equal(env['KUBECONFIG'], undefined);
      controller = new Controller(args, env);

      const lease = await waitForObject<Lease & KubeObject>(
        client,
        leasePath,
        leaseName,
        (l) => !!l.spec?.holderIdentity,
        { description: 'the controller to take the Lease', timeoutMs: 60_000 },
      ).catch((error: unknown) => {
        throw new Error(`${String(error)}\ncontroller logs:\n${controller?.logs}`, { cause: error });
      });
      assert.equal(lease.metadata.annotations?.['sluice.dev/version'], version);
      await controller.waitForLog('controllers started');
      const probes = await controller.waitForLog('serving health probes');
      assert.equal((await fetch(`http://${String(probes['address'])}/readyz`)).status, 200);

      const checked = await sluice('check', '-n', ns);
      assert.equal(checked.code, 0, checked.stderr);
      const report = lines(checked.stderr);
      assert.equal(report.length, 12, checked.stderr);
      assert.equal(report[0], '► checking prerequisites');
      assert.match(report[1] as string, /^✔ Kubernetes 1\.\d+\.\d+ >=1\.30\.0-0$/);
      assert.deepEqual(report.slice(2, 5), [
        '► checking controllers',
        '✔ sluice-controller: deployment ready',
        `► sluice-controller:${version}`,
      ]);
      assert.match(
        report[5] as string,
        new RegExp(`^✔ leader ${lease.spec?.holderIdentity} \\(renewed \\d+s ago\\)$`),
      );
      assert.deepEqual(report.slice(6), [
        `✔ controller version ${version}`,
        '► checking crds',
        '✔ gitrepositories.source.toolkit.fluxcd.io/v1',
        '✔ ocirepositories.source.toolkit.fluxcd.io/v1',
        '✔ kustomizations.kustomize.toolkit.fluxcd.io/v1',
        '✔ all checks passed',
      ]);

      const commit = await git.createRepo('app', {
        'namespace.yaml': `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${appsNs}\n`,
        'job.yaml': `apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
  namespace: ${appsNs}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: migrate
        image: app:v1
`,
      });
      revision = `main@sha1:${commit}`;
      await objects.apply(
        {
          apiVersion: 'source.toolkit.fluxcd.io/v1',
          kind: 'GitRepository',
          metadata: { name: 'app', namespace: ns },
          spec: { url: git.url('app'), interval: '1h', ref: { branch: 'main' } },
        },
        { fieldManager: 'e2e-test' },
      );
      await objects.apply(
        {
          apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
          kind: 'Kustomization',
          metadata: { name: 'app', namespace: ns },
          spec: {
            interval: '1h',
            prune: true,
            wait: true,
            timeout: '2m',
            sourceRef: { kind: 'GitRepository', name: 'app' },
          },
        },
        { fieldManager: 'e2e-test' },
      );
      await waitForObject(
        client,
        `/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/${ns}/kustomizations`,
        'app',
        (ks) =>
          condition(ks, 'Ready')?.status === 'True' &&
          (ks['status'] as { lastAppliedRevision?: string }).lastAppliedRevision === revision,
        { description: 'the Kustomization Ready at the first commit', timeoutMs: 90_000 },
      );
      const job = await objects.get(jobRef);
      assert.equal(condition(job as KubeObject, 'Complete')?.status, 'True', controller.logs);

      controller.process.kill('SIGTERM');
      const [code] = await once(controller.process, 'exit');
      assert.equal(code, 0, controller.logs);
    });

    it('check fails when no controller holds the Lease', async () => {
      const lease = await client.get<Lease>(`${leasePath}/${leaseName}`);
      assert.equal(lease.spec?.holderIdentity, '', 'a clean shutdown releases the Lease');
      const checked = await sluice('check', '-n', ns);
      assert.equal(checked.code, 1, checked.stderr);
      const report = lines(checked.stderr);
      assert.ok(
        report.some((l) =>
          /^✗ no leader: the Lease sluice-controller-leader-election was released \(\d+s ago\); is the controller running\?$/.test(
            l,
          ),
        ),
        checked.stderr,
      );
      assert.ok(report.includes('✔ sluice-controller: deployment ready'), checked.stderr);
      assert.equal(report.at(-1), '✗ checks failed');

      const pre = await sluice('check', '--pre', '-n', ns);
      assert.equal(pre.code, 0, pre.stderr);
      assert.equal(lines(pre.stderr).at(-1), '✔ prerequisites checks passed');
    });

    it('uninstall asks first, refuses without a terminal, and --dry-run deletes nothing', async () => {
      const refused = await sluice('uninstall', '-n', ns);
      assert.equal(refused.code, 1);
      assert.equal(
        refused.stderr,
        '✗ refusing to uninstall without confirmation: stdin is not a terminal; pass --silent (-s) to confirm\n',
      );

      const dryRun = await sluice('uninstall', '-n', ns, '--dry-run');
      assert.equal(dryRun.code, 0, dryRun.stderr);
      assert.ok(lines(dryRun.stderr).includes(`✔ Namespace/${ns} deleted (dry run)`), dryRun.stderr);
      assert.ok(lines(dryRun.stderr).includes(`✔ Kustomization/${ns}/app finalizers deleted (dry run)`));
      for (const ref of [...crdRefs, deploymentRef])
        assert.ok(await objects.get(ref), `${ref.name} must remain`);
      const ks = await objects.get({
        apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
        kind: 'Kustomization',
        namespace: ns,
        name: 'app',
      });
      assert.deepEqual(ks?.metadata?.['finalizers'], ['finalizers.fluxcd.io']);
    });

    it('uninstall --silent removes sluice and leaves what the Kustomization applied', async () => {
      const result = await sluice('uninstall', '-n', ns, '--silent');
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(lines(result.stderr), [
        `► deleting components in ${ns} namespace`,
        `✔ Deployment/${ns}/sluice-controller deleted`,
        '◎ waiting for sluice-controller to stop',
        '✔ sluice-controller stopped',
        `✔ Service/${ns}/sluice-controller deleted`,
        `✔ NetworkPolicy/${ns}/sluice-controller-allow-egress deleted`,
        `✔ NetworkPolicy/${ns}/sluice-controller-allow-scraping deleted`,
        `✔ ClusterRoleBinding/sluice-controller-${ns} deleted`,
        `✔ ServiceAccount/${ns}/sluice-controller deleted`,
        '► deleting toolkit.fluxcd.io finalizers in all namespaces',
        `✔ GitRepository/${ns}/app finalizers deleted`,
        `✔ Kustomization/${ns}/app finalizers deleted`,
        '► deleting toolkit.fluxcd.io custom resource definitions',
        '✔ CustomResourceDefinition/gitrepositories.source.toolkit.fluxcd.io deleted',
        '✔ CustomResourceDefinition/ocirepositories.source.toolkit.fluxcd.io deleted',
        '✔ CustomResourceDefinition/kustomizations.kustomize.toolkit.fluxcd.io deleted',
        `✔ Namespace/${ns} deleted`,
        '✔ uninstall finished',
      ]);
      const gone: ObjectRef[] = [
        ...crdRefs,
        { apiVersion: 'v1', kind: 'Namespace', name: ns },
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'ClusterRoleBinding',
          name: `sluice-controller-${ns}`,
        },
      ];
      for (const ref of gone) await objects.waitUntilGone(ref, AbortSignal.timeout(60_000));

      // As with Flux: with the finalizers removed nothing was pruned, so the workload and its namespace stay.
      const job = await objects.get(jobRef);
      assert.equal(condition(job as KubeObject, 'Complete')?.status, 'True');
      const apps = await objects.get({ apiVersion: 'v1', kind: 'Namespace', name: appsNs });
      assert.equal((apps?.['status'] as { phase?: string }).phase, 'Active');

      // Nothing left to delete is not an error.
      const again = await sluice('uninstall', '-n', ns, '-s');
      assert.equal(again.code, 0, again.stderr);
      assert.deepEqual(lines(again.stderr), [
        `► deleting components in ${ns} namespace`,
        '► deleting toolkit.fluxcd.io finalizers in all namespaces',
        '► deleting toolkit.fluxcd.io custom resource definitions',
        '✔ uninstall finished',
      ]);
    });

    it('uninstall keeps the CRDs, objects and namespace that another tool installed, and says so', async () => {
      // As where Flux installed its CRDs and flux-system: same names, Flux's labels, not sluice's.
      const fluxNs = `${ns}-flux`;
      const fluxLabels = { 'app.kubernetes.io/part-of': 'flux', 'app.kubernetes.io/managed-by': 'flux' };
      await objects.apply(
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: fluxNs, labels: fluxLabels } },
        { fieldManager: 'e2e-test' },
      );
      for (const crd of allCrds()) {
        await objects.apply({ ...crd, metadata: { ...crd.metadata, labels: fluxLabels } } as KubeObject, {
          fieldManager: 'e2e-test',
        });
      }
      try {
        const result = await sluice('uninstall', '-n', fluxNs, '--silent');
        assert.equal(result.code, 0, result.stderr);
        assert.deepEqual(lines(result.stderr), [
          `► deleting components in ${fluxNs} namespace`,
          '► deleting toolkit.fluxcd.io finalizers in all namespaces',
          "✔ finalizers kept: the toolkit.fluxcd.io CRDs are not sluice's, so their objects stay with their controllers",
          '► deleting toolkit.fluxcd.io custom resource definitions',
          ...crdRefs.map(
            (ref) =>
              `✔ CustomResourceDefinition/${ref.name} kept: it is not sluice's (app.kubernetes.io/managed-by: flux)`,
          ),
          `✔ Namespace/${fluxNs} kept: it is not sluice's (app.kubernetes.io/managed-by: flux)`,
          '✔ uninstall finished',
        ]);
        for (const ref of crdRefs) assert.ok(await objects.get(ref), `${ref.name} must remain`);
        assert.ok(await objects.get({ apiVersion: 'v1', kind: 'Namespace', name: fluxNs }));
      } finally {
        for (const ref of [...crdRefs, { apiVersion: 'v1', kind: 'Namespace', name: fluxNs }]) {
          await objects.delete(ref);
        }
      }
    });
  },
);

/** One POST with the identity and CA of a client-node configuration, outside KubeClient. */
async function postAs(kc: KubeConfig, apiPath: string, body: unknown): Promise<unknown> {
  const options: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(options);
  const url = new URL(`${kc.getCurrentCluster()?.server}${apiPath}`);
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      { ...options, method: 'POST', headers: { ...options.headers, 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () =>
          res.statusCode === 201 || res.statusCode === 200
            ? resolve(JSON.parse(text))
            : reject(new Error(`POST ${apiPath}: ${res.statusCode} ${text}`)),
        );
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}
