// `sluice ui`: a local web view of a namespace's pipelines, served on 127.0.0.1 with the user's kubeconfig (no
// install on the cluster). Every request needs the random token of the URL it prints (as Jupyter does) and a
// Host of 127.0.0.1 or localhost, so other local users and DNS-rebinding pages cannot read or drive it. Live
// updates go out as server-sent events from watches; every cluster request is made as the kubeconfig's user,
// so RBAC decides. No Secret is sent to the page, and Job logs have the values of the Secrets their containers
// read taken out (a log whose Secrets cannot be read is not shown).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { StringDecoder } from 'node:string_decoder';
import type { AddressInfo } from 'node:net';
import type { Kustomization } from '../api/kustomization.ts';
import { KustomizationApi } from '../api/kustomization.ts';
import { GitRepositoryApi } from '../api/gitrepository.ts';
import { Annotation, collectionPath } from '../api/meta.ts';
import { ContentType, type KubeClient, type KubeObject } from '../kube/client.ts';
import { ObjectClient } from '../kube/objects.ts';
import { listWatch } from '../kube/watch.ts';
import { getJob, jobPods, containerNames, podLog } from '../kube/pods.ts';
import { secretValuesFor } from '../jobs/secrets.ts';
import { failureCause, redact } from '../jobs/failure.ts';
import { pipelinesOf, type Pipeline } from '../pipeline/pipeline.ts';
import { followPipelines, type PipelineChange } from '../pipeline/follow.ts';
import { errorMessage } from '../errors.ts';
import { createServer, requestUrl } from '../runtime/server.ts';

export interface UiOptions {
  client: KubeClient;
  namespace: string;
  /** No reconcile, suspend or resume: the page shows no buttons and the server refuses them. */
  readOnly: boolean;
  /** 0: any free port. */
  port: number;
}

export interface UiServer {
  /** The page's address, with the token. */
  url: string;
  close(): Promise<void>;
}

/** What the page is sent on connecting and after each change. */
export interface UiSnapshot {
  namespace: string;
  readOnly: boolean;
  pipelines: Pipeline[];
  /** The rollout of each workload, `Deployment/namespace/name` → words. */
  rollouts: Record<string, string>;
  /** The artifact revision of each source, `Kind/namespace/name`. */
  sources: Record<string, string>;
}

const logTailLines = 50;

/** The page's script, built by `npm run build` (dev/build-ui.ts) next to the compiled CLI. */
async function pageScript(): Promise<string> {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.join(here, 'app.js'), path.join(here, '../../dist/ui/app.js')];
  for (const file of candidates) {
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text !== undefined) return text;
  }
  throw new Error(`the web page is not built (${candidates.join(' or ')}): run npm run build`);
}

export async function startUi(options: UiOptions): Promise<UiServer> {
  const script = await pageScript();
  const token = randomBytes(24).toString('hex');
  const abort = new AbortController();
  const objects = new ObjectClient(options.client);
  const kustomizations = new Map<string, Kustomization>();
  const rollouts = new Map<string, string>();
  const sources = new Map<string, string>();
  const streams = new Set<ServerResponse>();
  let synced = false;

  const snapshot = (): UiSnapshot => ({
    namespace: options.namespace,
    readOnly: options.readOnly,
    pipelines: pipelinesOf([...kustomizations.values()], options.namespace),
    rollouts: Object.fromEntries(rollouts),
    sources: Object.fromEntries(sources),
  });
  const send = (event: string, data: unknown) => {
    const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const stream of streams) stream.write(frame);
  };
  // Changes that arrive together go out as one snapshot, on the next turn of the event loop.
  let pending = false;
  const changed = () => {
    if (!synced || pending) return;
    pending = true;
    setImmediate(() => {
      pending = false;
      send('pipelines', snapshot());
    });
  };

  const watchInto = async <T extends KubeObject>(
    collection: string,
    onEvent: (type: string, o: T) => void,
  ) => {
    for await (const e of listWatch<T>(options.client, collection, { signal: abort.signal })) {
      if (e.type === 'SYNCED') continue;
      onEvent(e.type, e.object);
      changed();
    }
  };
  const ready = Promise.withResolvers<undefined>();
  const kustomizationsSynced = (async () => {
    let first = true;
    for await (const e of listWatch<Kustomization & KubeObject>(
      options.client,
      collectionPath(KustomizationApi, options.namespace),
      { signal: abort.signal },
    )) {
      if (e.type === 'SYNCED') {
        if (first) {
          first = false;
          synced = true;
          ready.resolve(undefined);
        }
        continue;
      }
      const key = `${e.object.metadata.namespace}/${e.object.metadata.name}`;
      if (e.type === 'DELETED') kustomizations.delete(key);
      else kustomizations.set(key, e.object);
      changed();
    }
  })();
  kustomizationsSynced.catch((error: unknown) => ready.reject(error));
  void watchInto<KubeObject>(collectionPath(GitRepositoryApi, options.namespace), (type, o) => {
    const key = `GitRepository/${o.metadata?.namespace}/${o.metadata?.name}`;
    const revision = (o['status'] as { artifact?: { revision?: string } } | undefined)?.artifact?.revision;
    if (type === 'DELETED' || !revision) sources.delete(key);
    else sources.set(key, revision);
  }).catch(() => undefined);
  followPipelines(
    options.client,
    options.namespace,
    (change: PipelineChange) => {
      if (change.kind === 'Deployment') {
        rollouts.set(
          `Deployment/${change.object.metadata?.namespace}/${change.object.metadata?.name}`,
          change.state,
        );
        changed();
      }
      send('change', {
        at: new Date().toISOString(),
        kustomization: change.kustomization,
        subject: change.subject,
        state: change.state,
      });
    },
    { signal: abort.signal, onError: () => undefined },
  );
  await ready.promise;

  const server = createServer((req, res) =>
    handle(req, res).catch((error: unknown) => reply(res, 500, { error: errorMessage(error) })),
  );
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const { port } = server.address() as AddressInfo;
    if (!['127.0.0.1', 'localhost'].map((h) => `${h}:${port}`).includes(req.headers.host ?? '')) {
      return reply(res, 403, { error: `refused: Host ${req.headers.host ?? '(none)'} is not this server's` });
    }
    const url = requestUrl(req);
    if (!url) return reply(res, 400, { error: 'refused: the request target is not a URL path' });
    const given = url.searchParams.get('token') ?? req.headers['x-sluice-token'];
    if (typeof given !== 'string' || !sameToken(given, token)) {
      return reply(res, 401, {
        error: 'refused: the token is missing or wrong; open the address sluice ui printed',
      });
    }
    if (req.method === 'GET' && url.pathname === '/') return page(res, script);
    if (req.method === 'GET' && url.pathname === '/api/pipelines') return reply(res, 200, snapshot());
    if (req.method === 'GET' && url.pathname === '/api/events') return events(req, res);
    if (req.method === 'GET' && url.pathname === '/api/stage')
      return reply(res, 200, await stage(url.searchParams.get('name') ?? ''));
    if (req.method === 'GET' && url.pathname === '/api/logs/stream')
      return streamLog(req, res, url.searchParams);
    if (req.method === 'GET' && url.pathname === '/api/logs')
      return reply(res, 200, await logs(url.searchParams.get('job') ?? ''));
    if (req.method === 'POST' && url.pathname.startsWith('/api/actions/')) {
      if (req.headers.origin !== undefined && req.headers.origin !== `http://${req.headers.host}`) {
        return reply(res, 403, { error: 'refused: a request from another origin' });
      }
      if (options.readOnly) return reply(res, 403, { error: 'refused: sluice ui runs with --read-only' });
      return reply(
        res,
        200,
        await act(url.pathname.slice('/api/actions/'.length), url.searchParams.get('name') ?? ''),
      );
    }
    return reply(res, 404, { error: `no ${req.method} ${url.pathname}` });
  };

  const events = (req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    res.write(`event: pipelines\ndata: ${JSON.stringify(snapshot())}\n\n`);
    streams.add(res);
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    req.on('close', () => {
      clearInterval(keepAlive);
      streams.delete(res);
    });
  };

  /** A stage's detail: its Kustomization (status: conditions, inventory, history, run ledger), events, cause. */
  const stage = async (name: string) => {
    const ks = kustomizations.get(`${options.namespace}/${name}`);
    if (!ks) return { error: `no Kustomization '${name}' in "${options.namespace}" namespace` };
    const list = await options.client.get<{ items: KubeObject[] }>(
      `/api/v1/namespaces/${options.namespace}/events`,
      {
        fieldSelector: `involvedObject.kind=Kustomization,involvedObject.name=${name}`,
      },
    );
    const failed = ks.status?.jobRuns?.find((run) => run.result === 'Failed' && run.failure);
    return {
      kustomization: {
        metadata: { name, namespace: ks.metadata.namespace },
        spec: ks.spec,
        status: ks.status,
      },
      cause: failed?.failure ? `Job/${failed.id.split('_')[1]}: ${failureCause(failed.failure)}` : undefined,
      events: list.items
        .map((e) => ({
          type: e['type'],
          reason: e['reason'],
          message: e['message'],
          count: e['count'] ?? 1,
          last: e['lastTimestamp'] ?? e['eventTime'] ?? e.metadata?.creationTimestamp,
        }))
        .sort((a, b) => String(b.last).localeCompare(String(a.last))),
    };
  };

  /** The containers of a Job's pods whose logs the page can stream, in the order `sluice logs` prints them. */
  const logs = async (job: string) => {
    const [namespace = '', name = ''] = job.split('/');
    if (namespace !== options.namespace)
      return { error: `Job ${job} is not in "${options.namespace}" namespace` };
    const found = await getJob(options.client, namespace, name);
    if (!found) return { logs: [], note: `Job/${job} is not in the cluster any more, so no logs` };
    const pods = await jobPods(options.client, found);
    if (pods.length === 0) return { logs: [], note: `Job/${job} has no pods left, so no logs` };
    return {
      logs: pods.flatMap((pod) =>
        containerNames(pod).map((container) => ({ pod: pod.metadata.name, container })),
      ),
    };
  };

  /**
   * One container's log as server-sent events, a line each: its last lines, then what it writes until it ends
   * (`sluice logs -f`'s stream). The values of the Secrets the container reads are taken out of every line;
   * when those Secrets cannot be read, the log is not shown at all.
   */
  const streamLog = async (req: IncomingMessage, res: ServerResponse, params: URLSearchParams) => {
    const [namespace = '', name = ''] = (params.get('job') ?? '').split('/');
    const found = namespace === options.namespace ? await getJob(options.client, namespace, name) : undefined;
    const pod =
      found && (await jobPods(options.client, found)).find((p) => p.metadata.name === params.get('pod'));
    const container = params.get('container') ?? '';
    if (!pod || !containerNames(pod).includes(container))
      return reply(res, 404, { error: 'no such Job pod or container' });
    const secrets = await secretValuesFor(options.client, pod, container);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
    const line = (text: string) => res.write(`event: line\ndata: ${JSON.stringify(text)}\n\n`);
    const abort = new AbortController();
    req.on('close', () => abort.abort());
    try {
      if (!('values' in secrets)) line(`(not shown: ${secrets.withheld})`);
      else {
        const body = await podLog(
          options.client,
          pod,
          container,
          { follow: true, tailLines: logTailLines },
          abort.signal,
        );
        const decoder = new StringDecoder('utf8');
        let rest = '';
        for await (const chunk of body) {
          const lines = (rest + decoder.write(chunk as Buffer)).split('\n');
          rest = lines.pop() ?? '';
          for (const text of lines) line(redact(text, secrets.values));
        }
        rest += decoder.end();
        if (rest) line(redact(rest, secrets.values));
      }
    } catch (error) {
      if (!abort.signal.aborted) line(`(cannot read its log: ${errorMessage(error)})`);
    }
    res.end('event: end\ndata: {}\n\n');
  };

  /** Reconcile (with its source), suspend or resume, as the kubeconfig's user. */
  const act = async (action: string, name: string) => {
    const ks = kustomizations.get(`${options.namespace}/${name}`);
    if (!ks) return { error: `no Kustomization '${name}' in "${options.namespace}" namespace` };
    const ref = {
      apiVersion: KustomizationApi.apiVersion,
      kind: KustomizationApi.kind,
      namespace: options.namespace,
      name,
    };
    const requestedAt = {
      metadata: { annotations: { [Annotation.reconcileRequestedAt]: new Date().toISOString() } },
    };
    if (action === 'reconcile') {
      const { kind, name: source, namespace } = ks.spec.sourceRef;
      if (kind === GitRepositoryApi.kind) {
        const sourceRef = {
          apiVersion: GitRepositoryApi.apiVersion,
          kind,
          namespace: namespace || options.namespace,
          name: source,
        };
        await objects.patch(sourceRef, requestedAt, ContentType.mergePatch);
      }
      await objects.patch(ref, requestedAt, ContentType.mergePatch);
    } else if (action === 'suspend' || action === 'resume') {
      await objects.patch(ref, { spec: { suspend: action === 'suspend' } }, ContentType.mergePatch);
    } else {
      return { error: `no action '${action}': reconcile, suspend or resume` };
    }
    return { done: `${action} Kustomization/${options.namespace}/${name}` };
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    async close() {
      abort.abort();
      for (const stream of streams) stream.end();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function sameToken(given: string, token: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

function page(res: ServerResponse, script: string): void {
  res.writeHead(200, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    // Nothing from anywhere else: the page is whole as served, and works without a network.
    'content-security-policy':
      "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:",
    'referrer-policy': 'no-referrer',
  });
  res.end(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>sluice</title>` +
      `<meta name="viewport" content="width=device-width, initial-scale=1"></head>` +
      `<body><div id="app"></div><script>${script.replaceAll('</script', '<\\/script')}</script></body></html>`,
  );
}
