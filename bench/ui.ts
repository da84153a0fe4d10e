// `npm run bench:ui`: how fast `sluice ui` shows a big namespace and how soon a status change reaches the page,
// in a real browser (Debian's chromium) against the local cluster. A namespace of N Kustomizations (default
// 200, as 50 pipelines of four stages) is loaded K times (default 3): time from navigation to every stage drawn.
// Then M status writes (default 20): time from the watch event (seen by this process's own watch of the same
// object) to the page's node showing the new state. Prints a table; keeps it in bench/results/.
import { parseArgs } from 'node:util';
import { KubeClient, ContentType, type KubeObject } from '../src/kube/client.ts';
import { ObjectClient } from '../src/kube/objects.ts';
import { listWatch } from '../src/kube/watch.ts';
import { installCrds } from '../src/install/install.ts';
import { KustomizationApi } from '../src/api/kustomization.ts';
import { collectionPath } from '../src/api/meta.ts';
import { startUi } from '../src/ui/server.ts';
import { LocalCluster, kubernetesVersion } from '../dev/cluster.ts';
import { launchBrowser } from '../dev/browser.ts';
import { keepResults, markdownTable } from './table.ts';

const { values } = parseArgs({
  options: {
    kustomizations: { type: 'string', default: '200' },
    loads: { type: 'string', default: '3' },
    changes: { type: 'string', default: '20' },
  },
});
const total = Number(values.kustomizations);
const loads = Number(values.loads);
const changes = Number(values.changes);
const stagesPerPipeline = 4;
const namespace = 'sluice-bench-ui';

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
const ms = (n: number) => `${n.toFixed(0)} ms`;

async function main(): Promise<void> {
  const cluster = LocalCluster.fromEnvironment();
  const ownCluster = !cluster.started;
  await cluster.up({ onLine: (line) => process.stderr.write(`${line}\n`) });
  const client = await KubeClient.load({ kubeconfig: cluster.kubeconfig });
  const objects = new ObjectClient(client);
  const browser = await launchBrowser();
  try {
    await installCrds(client, { timeoutMs: 60_000, log: () => undefined });
    const nsRef = { apiVersion: 'v1', kind: 'Namespace', name: namespace };
    if (await objects.get(nsRef)) {
      await objects.delete(nsRef);
      await objects.waitUntilGone(nsRef, AbortSignal.timeout(60_000));
    }
    await objects.apply(
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } },
      { fieldManager: 'bench-ui' },
    );
    const name = (i: number) =>
      `p${String(Math.floor(i / stagesPerPipeline)).padStart(3, '0')}-s${i % stagesPerPipeline}`;
    for (let i = 0; i < total; i++) {
      const stage = i % stagesPerPipeline;
      await objects.apply(
        {
          apiVersion: KustomizationApi.apiVersion,
          kind: KustomizationApi.kind,
          metadata: { name: name(i), namespace },
          // No controller runs here: the page shows what the status says.
          spec: {
            interval: '1h',
            prune: true,
            suspend: false,
            path: './',
            sourceRef: { kind: 'GitRepository', name: 'repo' },
            ...(stage > 0 ? { dependsOn: [{ name: name(i - 1) }] } : {}),
          },
        },
        { fieldManager: 'bench-ui' },
      );
    }
    const ui = await startUi({ client, namespace, readOnly: true, port: 0 });
    const loadTimes: number[] = [];
    const page = await browser.browser.newPage();
    await page.setViewport({ width: 1400, height: 900 });
    for (let i = 0; i < loads; i++) {
      const start = performance.now();
      await page.goto(ui.url);
      await page.waitForFunction(`document.querySelectorAll('[data-stage]').length === ${total}`, {
        timeout: 60_000,
      });
      loadTimes.push(performance.now() - start);
    }
    // The page notes when each stage's node last changed state, in wall-clock time.
    await page.evaluate(`(() => {
      window.changedAt = {};
      new MutationObserver(() => {
        for (const n of document.querySelectorAll('[data-stage]')) {
          const key = n.getAttribute('data-stage') + '=' + n.getAttribute('data-state');
          if (!(key in window.changedAt)) window.changedAt[key] = Date.now();
        }
      }).observe(document.body, { subtree: true, childList: true, attributes: true });
    })()`);
    const seenAt = new Map<string, number>();
    const watching = new AbortController();
    void (async () => {
      for await (const e of listWatch<KubeObject>(client, collectionPath(KustomizationApi, namespace), {
        signal: watching.signal,
      })) {
        if (e.type !== 'MODIFIED') continue;
        const ready = (
          e.object['status'] as { conditions?: { type: string; status: string }[] } | undefined
        )?.conditions?.find((c) => c.type === 'Ready');
        if (ready?.status === 'True') seenAt.set(`${e.object.metadata?.name}=Ready`, Date.now());
      }
    })().catch(() => undefined);
    const latencies: number[] = [];
    for (let i = 0; i < changes; i++) {
      const target = name(i * stagesPerPipeline);
      const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      await client.patch(
        `${collectionPath(KustomizationApi, namespace)}/${target}/status`,
        {
          status: {
            observedGeneration: 1,
            conditions: [
              {
                type: 'Ready',
                status: 'True',
                reason: 'ReconciliationSucceeded',
                message: 'bench',
                lastTransitionTime: now,
                observedGeneration: 1,
              },
            ],
          },
        },
        ContentType.mergePatch,
      );
      const key = `${target}=Ready`;
      await page.waitForFunction(`'${key}' in window.changedAt`, { timeout: 10_000 });
      const pageAt = (await page.evaluate(`window.changedAt['${key}']`)) as number;
      for (let wait = 0; !seenAt.has(key) && wait < 100; wait++) await new Promise((r) => setImmediate(r));
      latencies.push(pageAt - (seenAt.get(key) ?? NaN));
    }
    watching.abort();
    await ui.close();
    const loadSorted = [...loadTimes].sort((a, b) => a - b);
    const latencySorted = [...latencies].sort((a, b) => a - b);
    const started = new Date().toISOString();
    const rows = [
      ['measure', 'result', 'target'],
      [
        `page shows ${total} Kustomizations (${total / stagesPerPipeline} pipelines), median of ${loads} loads`,
        ms(percentile(loadSorted, 0.5)),
        '< 2000 ms',
      ],
      [`  slowest load`, ms(loadSorted.at(-1) ?? NaN), ''],
      [
        `status change: watch event → page, median of ${changes}`,
        ms(percentile(latencySorted, 0.5)),
        '< 200 ms',
      ],
      [`  95th percentile`, ms(percentile(latencySorted, 0.95)), ''],
      [`  slowest`, ms(latencySorted.at(-1) ?? NaN), ''],
    ];
    const report = [
      `# sluice ui benchmark, ${started}`,
      '',
      `Headless chromium (Debian's package) on this machine, the local cluster (kube-apiserver ${kubernetesVersion()}), sluice ui in this process.`,
      '',
      markdownTable(rows[0] ?? [], rows.slice(1)),
    ].join('\n');
    await keepResults('ui', started, report, { total, loadTimes, latencies });
    await objects.delete(nsRef);
  } finally {
    await browser.close();
    await client.close();
    if (ownCluster) await cluster.down();
  }
}

await main();
