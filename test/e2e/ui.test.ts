// `sluice ui` in a real browser (Debian's chromium, driven by puppeteer-core) against the real control plane,
// with seed 001: the graph shows the three stages in order; a release is seen moving stage by stage without a
// reload; a failing migration turns its stage red with the exit code and the log's end; suspend, resume and
// reconcile from the page change the cluster; a request without the token, or for another Host, is refused;
// --read-only offers no actions and refuses them. Screenshots go to $SLUICE_SCREENSHOT_DIR (the README's come
// from `npm run screenshots`), else to the suite's scratch directory.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { appendFile, mkdir } from 'node:fs/promises';
import { request } from 'node:http';
import path from 'node:path';
import type { Page } from 'puppeteer-core';
import {
  applySeed,
  ksPath,
  gitPath,
  requestReconcile,
  useControllerEnv,
  waitForReady,
  type ControllerEnv,
} from '../support/controller.ts';
import { testKubeconfig } from '../support/cluster.ts';
import { hostileRequests, sendRaw } from '../../dev/hostile-requests.ts';
import { spawnSluice } from '../support/cli.ts';
import { scratchDir } from '../support/files.ts';
import { LocalCluster, waitForObject } from '../../dev/cluster.ts';
import { launchBrowser, type TestBrowser } from '../../dev/browser.ts';
import { failingMigration, release } from '../../dev/seed.ts';
import { Annotation } from '../../src/api/meta.ts';
import { KustomizationApi } from '../../src/api/kustomization.ts';
import { GitRepositoryApi } from '../../src/api/gitrepository.ts';
import type { KubeObject } from '../../src/kube/client.ts';

const localCluster = LocalCluster.fromEnvironment();
const onLocalCluster = testKubeconfig() === localCluster.kubeconfig;

/** `sluice ui` as a user runs it; resolves with the address it prints. */
async function startUi(
  namespace: string,
  ...flags: string[]
): Promise<{ url: string; process: ChildProcess }> {
  const child = spawnSluice(['ui', '-n', namespace, '--open=false', ...flags]);
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sluice ui printed no address:\n${output}`)), 30_000);
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      const found = /✔ sluice ui on (http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{48})/.exec(output);
      if (found?.[1]) {
        clearTimeout(timer);
        resolve(found[1]);
      }
    });
    child.on('exit', (code) => reject(new Error(`sluice ui exited ${code}:\n${output}`)));
  });
  return { url, process: child };
}

async function stopUi(ui: { process: ChildProcess }): Promise<void> {
  const exited = new Promise((resolve) => ui.process.once('exit', resolve));
  ui.process.kill('SIGINT');
  await exited;
}

/** A plain HTTP request to the UI server, with the Host header given. */
function fetchRaw(url: string, host?: string, method = 'GET'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const req = request(
      {
        host: target.hostname,
        port: target.port,
        path: `${target.pathname}${target.search}`,
        method,
        headers: host ? { host } : {},
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Each stage node's state and text, in the order the page draws them from top to bottom. */
async function stagesOnPage(
  page: Page,
): Promise<{ name: string; state: string; text: string; fill: string; y: number }[]> {
  return page.$$eval('[data-stage]', (nodes) =>
    nodes
      .map((n) => ({
        name: n.getAttribute('data-stage') ?? '',
        state: n.getAttribute('data-state') ?? '',
        text: n.textContent ?? '',
        fill: n.querySelector('rect')?.getAttribute('fill') ?? '',
        y: n.getBoundingClientRect().y,
      }))
      .sort((a, b) => a.y - b.y),
  );
}

async function push(env: ControllerEnv, files: Record<string, string>, message: string): Promise<string> {
  const commit = await env.git.commit('my-app', files, message);
  await requestReconcile(env, 'GitRepository', 'my-app', commit);
  return commit;
}

/** Clicks `selector` once it is there, again if the page redrew it between finding and clicking. */
async function click(page: Page, selector: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      await (await page.waitForSelector(selector, { timeout: 15_000 }))?.click();
      return;
    } catch (error) {
      if (Date.now() > deadline || !/detached|not clickable/i.test(String(error))) throw error;
    }
  }
}

const green = '#2e7d32';
const red = '#c62828';

describe('sluice ui in a real browser', () => {
  const env = useControllerEnv('e2e-ui');
  const scratch = scratchDir('ui');
  let files: Record<string, string>;
  let browser: TestBrowser;
  let ui: { url: string; process: ChildProcess };
  let page: Page;
  let shots: string;

  before(async () => {
    files = await applySeed(env);
    await waitForReady(env, 'app-post-deploy', 'True', 'ReconciliationSucceeded');
    shots = process.env.SLUICE_SCREENSHOT_DIR ?? (await scratch).root;
    await mkdir(shots, { recursive: true });
    browser = await launchBrowser();
    ui = await startUi(env.namespace);
    page = await browser.browser.newPage();
    await page.setViewport({ width: 1400, height: 820 });
    page.on('dialog', (dialog) => void dialog.accept());
    await page.goto(ui.url);
    await page.waitForSelector('[data-stage="app-post-deploy"][data-state="Ready"]', { timeout: 15_000 });
  });
  after(async () => {
    await browser?.close();
    if (ui) await stopUi(ui);
  });

  it("shows seed 001's three stages in order under the source, Ready and green", async () => {
    const stages = await stagesOnPage(page);
    assert.deepEqual(
      stages.map((s) => [s.name, s.state, s.fill]),
      [
        ['app-pre-deploy', 'Ready', green],
        ['app-deploy', 'Ready', green],
        ['app-post-deploy', 'Ready', green],
      ],
    );
    assert.match(stages[0]?.text ?? '', /Job\/db-migration: Complete/);
    assert.match(stages[1]?.text ?? '', /Deployment\/my-app: v1\.0\.0 Available ✔ \(2 replicas\)/);
    const source = await page.$eval('[data-source]', (n) => ({
      text: n.textContent ?? '',
      y: n.getBoundingClientRect().y,
    }));
    assert.match(source.text, new RegExp(`GitRepository/${env.namespace}/my-app\\s*main@sha1:[0-9a-f]{8}`));
    assert.ok(source.y < (stages[0]?.y ?? 0), 'the source is drawn above the first stage');
    await page.screenshot({ path: path.join(shots, 'ui-graph.png') });
  });

  it('shows a release moving stage by stage, without a reload', async () => {
    // Records every state and text change of the stage nodes as the page applies pushed updates.
    // Browser-side code as text: it runs in the page, where the DOM is.
    await page.evaluate(`(() => {
      window.notReloaded = true;
      window.seen = [];
      const record = () => {
        for (const n of document.querySelectorAll('[data-stage]')) {
          const entry = n.getAttribute('data-stage') + '|' + n.getAttribute('data-state') + '|' + n.textContent;
          if (!window.seen.includes(entry)) window.seen.push(entry);
        }
      };
      new MutationObserver(record).observe(document.body, { subtree: true, childList: true, attributes: true });
    })()`);
    const commit = (await push(env, release(files, 'v1.0.1'), 'release v1.0.1')).slice(0, 8);
    await page.waitForFunction(
      `[...document.querySelectorAll('[data-stage]')].every((n) =>
        n.getAttribute('data-state') === 'Ready' && n.textContent.includes(${JSON.stringify(commit)}))`,
      { timeout: 60_000 },
    );
    const { notReloaded, seen } = (await page.evaluate(
      '({ notReloaded: window.notReloaded, seen: window.seen })',
    )) as {
      notReloaded: boolean;
      seen: string[];
    };
    assert.equal(notReloaded, true, 'the page was reloaded');
    const firstReadyAt = (stage: string) =>
      seen.findIndex((e) => e.startsWith(`${stage}|Ready|`) && e.includes(commit));
    const pre = firstReadyAt('app-pre-deploy');
    const deploy = firstReadyAt('app-deploy');
    const post = firstReadyAt('app-post-deploy');
    assert.ok(
      pre >= 0 && pre < deploy && deploy < post,
      `stages did not turn Ready in order:\n${seen.join('\n')}`,
    );
    assert.ok(
      seen.some((e) => e.startsWith('app-pre-deploy|Progressing|')),
      'the first stage was never seen progressing',
    );
  });

  it('turns a failing migration red, with its exit code and the end of its log', async () => {
    if (onLocalCluster) {
      // kwok serves a container's log from this file: what the migration would have printed.
      const log = path.join(localCluster.dir, 'container-logs', 'migration.log');
      await mkdir(path.dirname(log), { recursive: true });
      const at = new Date().toISOString();
      await appendFile(
        log,
        `${at} stdout F starting db migration\n${at} stderr F ERROR: relation users already exists\n`,
      );
    }
    await push(
      env,
      failingMigration(files, 'v1.0.2', { exitCode: 3, message: 'relation users already exists' }),
      'release v1.0.2',
    );
    await page.waitForSelector('[data-stage="app-pre-deploy"][data-state="Failed"]', { timeout: 60_000 });
    const [pre] = await stagesOnPage(page);
    assert.equal(pre?.fill, red);
    assert.match(pre?.text ?? '', /Job\/db-migration: Failed \(exit 3\)/);
    await click(page, '[data-stage="app-pre-deploy"]');
    await page.waitForSelector('#cause', { timeout: 15_000 });
    assert.match(
      await page.$eval('#cause', (n) => n.textContent ?? ''),
      /Job\/db-migration: pod db-migration-[a-z0-9]{5} container migration exited 3: "relation users already exists"/,
    );
    if (onLocalCluster) {
      const logText = (pattern: RegExp) =>
        page.waitForFunction(`${pattern}.test(document.querySelector('#logs')?.textContent ?? '')`, {
          timeout: 15_000,
        });
      await logText(/ERROR: relation users already exists/);
      // Streamed: a line the container writes after the page showed its log appears too, without a reload.
      await appendFile(
        path.join(localCluster.dir, 'container-logs', 'migration.log'),
        `${new Date().toISOString()} stderr F rolling back\n`,
      );
      await logText(/rolling back/);
    }
    await page.screenshot({ path: path.join(shots, 'ui-failed-stage.png') });
  });

  it('suspends, resumes and reconciles from the page, after a confirmation', async () => {
    const ks = (o: KubeObject) => o as KubeObject & { spec: { suspend?: boolean } };
    await click(page, '[data-stage="app-deploy"]');
    await click(page, 'button[data-action="suspend"]');
    await waitForObject<KubeObject>(
      env.client,
      ksPath(env),
      'app-deploy',
      (o) => ks(o).spec.suspend === true,
      { timeoutMs: 15_000, description: 'the change made from the page' },
    );
    await page.waitForSelector('[data-stage="app-deploy"][data-state="Suspended"]', { timeout: 15_000 });
    await click(page, '[data-stage="app-deploy"]');
    await click(page, 'button[data-action="resume"]');
    await waitForObject<KubeObject>(
      env.client,
      ksPath(env),
      'app-deploy',
      (o) => ks(o).spec.suspend === false,
      { timeoutMs: 15_000, description: 'the change made from the page' },
    );
    const requestedAt = (o: KubeObject | undefined) =>
      o?.metadata?.annotations?.[Annotation.reconcileRequestedAt];
    const ref = (kind: 'Kustomization' | 'GitRepository', name: string) => ({
      apiVersion: kind === 'Kustomization' ? KustomizationApi.apiVersion : GitRepositoryApi.apiVersion,
      kind,
      namespace: env.namespace,
      name,
    });
    const before = {
      deploy: requestedAt(await env.objects.get(ref('Kustomization', 'app-deploy'))),
      source: requestedAt(await env.objects.get(ref('GitRepository', 'my-app'))),
    };
    await click(page, 'button[data-action="reconcile"]');
    // Both the Kustomization and its source are asked to reconcile anew.
    await waitForObject<KubeObject>(
      env.client,
      ksPath(env),
      'app-deploy',
      (o) => requestedAt(o) !== before.deploy,
      { timeoutMs: 15_000, description: 'the change made from the page' },
    );
    await waitForObject<KubeObject>(
      env.client,
      gitPath(env),
      'my-app',
      (o) => requestedAt(o) !== before.source,
      { timeoutMs: 15_000, description: 'the change made from the page' },
    );
  });

  it('refuses a request without the token, with a wrong one, or for another Host', async () => {
    const base = new URL(ui.url);
    const withoutToken = await fetchRaw(`${base.origin}/api/pipelines`);
    assert.equal(withoutToken.status, 401);
    assert.match(withoutToken.body, /the token is missing or wrong/);
    assert.equal((await fetchRaw(`${base.origin}/?token=${'0'.repeat(48)}`)).status, 401);
    const rebound = await fetchRaw(`${base.origin}/api/pipelines${base.search}`, `evil.example:${base.port}`);
    assert.equal(rebound.status, 403);
    const other = await browser.browser.newPage();
    try {
      const response = await other.goto(`${base.origin}/`);
      assert.equal(response?.status(), 401);
    } finally {
      await other.close();
    }
  });

  it('survives the table of malformed and hostile requests, then still serves its page', async () => {
    const base = new URL(ui.url);
    const port = Number(base.port);
    for (const hostile of hostileRequests) {
      const answer = await sendRaw(port, hostile);
      assert.ok(
        answer.status === undefined || (answer.status >= 400 && answer.status < 500),
        `${hostile.name}: ${answer.head}`,
      );
      assert.equal(ui.process.exitCode, null, `${hostile.name} ended sluice ui`);
    }
    const page = await fetchRaw(ui.url);
    assert.equal(page.status, 200);
    const pipelines = await fetchRaw(`${base.origin}/api/pipelines${base.search}`);
    assert.equal(pipelines.status, 200);
  });

  it('--read-only offers no actions and refuses them', async () => {
    const readOnly = await startUi(env.namespace, '--read-only');
    const other = await browser.browser.newPage();
    try {
      await other.goto(readOnly.url);
      await other.waitForSelector('#read-only', { timeout: 15_000 });
      await click(other, '[data-stage="app-deploy"]');
      await other.waitForSelector('#detail h2', { timeout: 15_000 });
      assert.equal(await other.$('button[data-action]'), null);
      const url = new URL(readOnly.url);
      const refused = await fetchRaw(
        `${url.origin}/api/actions/suspend${url.search}&name=app-deploy`,
        undefined,
        'POST',
      );
      assert.equal(refused.status, 403);
      assert.match(refused.body, /read-only/);
    } finally {
      await other.close();
      await stopUi(readOnly);
    }
  });
});
