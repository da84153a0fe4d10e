// The page of `sluice ui`: each pipeline of the namespace as a graph (dagre lays it out top to bottom: the source and its
// revision first, then the stages along their dependsOn edges), each stage coloured by its state with its
// revision, duration, Jobs and rollout; a stage's detail on click; updates pushed by the server as
// server-sent events. Bundled whole into the page by dev/build-ui.ts: nothing is fetched from elsewhere.
import dagre from '@dagrejs/dagre';
import type { Pipeline, Stage } from '../../pipeline/pipeline.ts';
import type { UiSnapshot } from '../server.ts';

const token = new URLSearchParams(location.search).get('token') ?? '';
const api = (path: string, params: Record<string, string> = {}) =>
  `${path}?${new URLSearchParams({ ...params, token }).toString()}`;

const colours: Record<string, string> = {
  Ready: '#2e7d32',
  Progressing: '#1565c0',
  Waiting: '#b26a00',
  Failed: '#c62828',
  Suspended: '#616161',
};
const short = (revision: string) => revision.replace(/([0-9a-f]{8})[0-9a-f]{32,120}/g, '$1');
const svgNs = 'http://www.w3.org/2000/svg';

let snapshot: UiSnapshot | undefined;
let selected: string | undefined;
/** The detail last drawn, to redraw it only when it changed. */
let detailShown = '';
/** The log streams of the stage shown, closed when another is drawn. */
const logStreams: EventSource[] = [];
const changes: { at: string; kustomization: string; subject: string; state: string }[] = [];

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  node.append(...children);
  return node;
}

function svg(tag: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const node = document.createElementNS(svgNs, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** The lines a stage's node shows under its name. */
function stageLines(stage: Stage, rollouts: Record<string, string>): string[] {
  const lines = [
    `${stage.state} · ${short(stage.revision) || 'no revision'}${stage.duration ? ` · ${stage.duration}` : ''}`,
  ];
  for (const job of stage.jobs.slice(-3)) {
    const exit = job.exitCode === undefined ? '' : ` (exit ${job.exitCode})`;
    lines.push(`Job/${job.name.split('/')[1]}: ${job.result}${exit}`);
  }
  for (const workload of stage.workloads.slice(0, 2)) {
    lines.push(`${workload.split('/')[0]}/${workload.split('/')[2]}: ${rollouts[workload] ?? 'applied'}`);
  }
  return lines;
}

const nodeWidth = 320;
const lineHeight = 16;

function graphOf(pipeline: Pipeline, view: UiSnapshot): SVGElement {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: 'TB', nodesep: 24, ranksep: 36, marginx: 8, marginy: 8 });
  g.setDefaultEdgeLabel(() => ({}));
  const sourceId = `source:${pipeline.source}`;
  g.setNode(sourceId, { width: nodeWidth, height: 2 * lineHeight + 16 });
  for (const stage of pipeline.stages) {
    g.setNode(stage.key, {
      width: nodeWidth,
      height: (1 + stageLines(stage, view.rollouts).length) * lineHeight + 16,
    });
  }
  for (const stage of pipeline.stages) {
    const deps = stage.dependsOn.filter((d) => pipeline.stages.some((s) => s.key === d));
    if (deps.length === 0) g.setEdge(sourceId, stage.key);
    for (const dep of deps) g.setEdge(dep, stage.key);
  }
  dagre.layout(g);
  const { width = 0, height = 0 } = g.graph();
  const root = svg('svg', { width, height, viewBox: `0 0 ${width} ${height}`, class: 'graph' });
  const defs = svg('defs', {});
  const marker = svg('marker', {
    id: 'arrow',
    viewBox: '0 0 10 10',
    refX: 10,
    refY: 5,
    markerWidth: 8,
    markerHeight: 8,
    orient: 'auto',
  });
  marker.append(svg('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#888' }));
  defs.append(marker);
  root.append(defs);
  for (const edge of g.edges()) {
    const points = g.edge(edge).points ?? [];
    root.append(
      svg('polyline', {
        points: points.map((p: { x: number; y: number }) => `${p.x},${p.y}`).join(' '),
        fill: 'none',
        stroke: '#888',
        'stroke-width': 1.5,
        'marker-end': 'url(#arrow)',
        'data-edge': `${edge.v}->${edge.w}`,
      }),
    );
  }
  const box = (id: string, fill: string, title: string, lines: string[], attrs: Record<string, string>) => {
    const n = g.node(id);
    const group = svg('g', { transform: `translate(${n.x - n.width / 2},${n.y - n.height / 2})`, ...attrs });
    group.append(svg('rect', { width: n.width, height: n.height, rx: 6, fill, stroke: '#0003' }));
    group.append(svg('text', { x: 10, y: 20, class: 'title' }, title));
    lines.forEach((line, i) => group.append(svg('text', { x: 10, y: 20 + (i + 1) * lineHeight }, line)));
    root.append(group);
    return group;
  };
  box(sourceId, '#455a64', pipeline.source, [short(view.sources[pipeline.source] ?? 'no artifact yet')], {
    'data-source': pipeline.source,
  });
  for (const stage of pipeline.stages) {
    const node = box(
      stage.key,
      colours[stage.state] ?? '#616161',
      `${stage.index}. ${stage.name}`,
      stageLines(stage, view.rollouts),
      {
        'data-stage': stage.name,
        'data-state': stage.state,
        class: `stage${selected === stage.name ? ' selected' : ''}`,
      },
    );
    node.addEventListener('click', () => {
      selected = stage.name;
      render();
      void showDetail(stage.name);
    });
  }
  return root;
}

function render(): void {
  const app = document.getElementById('app');
  if (!app || !snapshot) return;
  const view = snapshot;
  const header = el(
    'header',
    {},
    el('strong', {}, 'sluice'),
    ` · namespace ${view.namespace} · ${view.pipelines.length} pipeline${view.pipelines.length === 1 ? '' : 's'}`,
  );
  if (view.readOnly) header.append(el('span', { class: 'badge', id: 'read-only' }, 'read-only'));
  const main = el('main', { id: 'pipelines' });
  for (const pipeline of view.pipelines) {
    const stateText =
      pipeline.atStage === undefined ? pipeline.state : `${pipeline.state} at stage ${pipeline.atStage}`;
    main.append(
      el(
        'section',
        { class: 'pipeline', 'data-pipeline': pipeline.name, 'data-state': pipeline.state },
        el(
          'h2',
          {},
          `${pipeline.name} `,
          el('span', { class: `state ${pipeline.state}` }, stateText),
          ` ${short(pipeline.revision)}`,
        ),
        graphOf(pipeline, view),
      ),
    );
  }
  const timeline = el(
    'ol',
    { id: 'changes' },
    ...changes
      .slice(-12)
      .map((c) => el('li', {}, `${c.at.slice(11, 19)} ${c.kustomization} ${c.subject} ${c.state}`)),
  );
  const detail =
    document.getElementById('detail') ??
    el('aside', { id: 'detail' }, el('p', {}, 'Click a stage to see its detail.'));
  app.replaceChildren(
    header,
    el('div', { class: 'layout' }, el('div', {}, main, el('h3', {}, 'Changes'), timeline), detail),
  );
}

async function getJson<T>(path: string, params: Record<string, string> = {}): Promise<T> {
  const response = await fetch(api(path, params));
  return (await response.json()) as T;
}

interface StageDetail {
  error?: string;
  cause?: string;
  kustomization: {
    metadata: { name: string };
    spec: { suspend?: boolean };
    status?: Record<string, unknown>;
  };
  events: { type: string; reason: string; message: string; count: number; last: string }[];
}

async function showDetail(name: string): Promise<void> {
  const detail = document.getElementById('detail');
  if (!detail || !snapshot) return;
  const text = JSON.stringify(await getJson<StageDetail>('/api/stage', { name }));
  if (selected !== name || (text === detailShown && detail.dataset['stage'] === name)) return;
  detailShown = text;
  detail.dataset['stage'] = name;
  const data = JSON.parse(text) as StageDetail;
  if (data.error) return void detail.replaceChildren(el('p', { class: 'error' }, data.error));
  const status = (data.kustomization.status ?? {}) as {
    conditions?: { type: string; status: string; reason: string; message: string }[];
    inventory?: { entries: { id: string }[] };
    history?: {
      lastReconciled: string;
      lastReconciledStatus: string;
      lastReconciledDuration: string;
      metadata?: Record<string, string>;
    }[];
    jobRuns?: {
      id: string;
      revision: string;
      attempt: number;
      result: string;
      startedAt: string;
      failure?: { exitCode?: number };
    }[];
  };
  const table = (head: string[], rows: (string | number | undefined)[][]) =>
    el(
      'table',
      {},
      el('tr', {}, ...head.map((h) => el('th', {}, h))),
      ...rows.map((r) => el('tr', {}, ...r.map((c) => el('td', {}, String(c ?? ''))))),
    );
  const parts: Node[] = [el('h2', {}, `Kustomization ${name}`)];
  if (data.cause) parts.push(el('p', { id: 'cause', class: 'error' }, data.cause));
  if (!snapshot.readOnly) {
    const suspended = data.kustomization.spec.suspend === true;
    const button = (action: string, label: string) => {
      const b = el('button', { 'data-action': action }, label);
      b.addEventListener('click', () => void act(action, name));
      return b;
    };
    parts.push(
      el(
        'p',
        { class: 'actions' },
        button('reconcile', 'Reconcile with source'),
        suspended ? button('resume', 'Resume') : button('suspend', 'Suspend'),
      ),
    );
  }
  parts.push(
    el('h3', {}, 'Conditions'),
    table(
      ['type', 'status', 'reason', 'message'],
      (status.conditions ?? []).map((c) => [c.type, c.status, c.reason, c.message]),
    ),
  );
  parts.push(
    el('h3', {}, 'Job runs'),
    table(
      ['job', 'revision', 'attempt', 'result', 'exit code', 'started'],
      (status.jobRuns ?? []).map((r) => [
        r.id.split('_')[1],
        short(r.revision),
        r.attempt,
        r.result,
        r.failure?.exitCode,
        r.startedAt,
      ]),
    ),
  );
  const logs = el('div', { id: 'logs' });
  parts.push(el('h3', {}, 'Job logs'), logs);
  parts.push(
    el('h3', {}, 'Events'),
    table(
      ['type', 'reason', 'message', 'count', 'last'],
      data.events.map((e) => [e.type, e.reason, e.message, e.count, e.last]),
    ),
  );
  parts.push(
    el('h3', {}, 'Inventory'),
    el('ul', {}, ...(status.inventory?.entries ?? []).map((e) => el('li', {}, e.id))),
  );
  parts.push(
    el('h3', {}, 'History'),
    table(
      ['last reconciled', 'status', 'took', 'revision'],
      (status.history ?? []).map((h) => [
        h.lastReconciled,
        h.lastReconciledStatus,
        h.lastReconciledDuration,
        short(h.metadata?.['revision'] ?? ''),
      ]),
    ),
  );
  detail.replaceChildren(...parts);
  for (const stream of logStreams.splice(0)) stream.close();
  const jobs = [...new Set((status.jobRuns ?? []).map((r) => r.id))];
  for (const id of jobs) {
    const [namespace = '', job = ''] = id.split('_');
    const answer = await getJson<{
      logs?: { pod: string; container: string }[];
      note?: string;
      error?: string;
    }>('/api/logs', { job: `${namespace}/${job}` });
    if (selected !== name) return;
    logs.append(el('h4', {}, `Job/${job}`));
    if (answer.note ?? answer.error) logs.append(el('p', {}, answer.note ?? answer.error ?? ''));
    for (const { pod, container } of answer.logs ?? []) {
      const pre = el('pre', { 'data-pod': pod }, `# pod/${pod} container/${container}\n`);
      logs.append(pre);
      // Streamed: the last lines, then each new one as the container writes it.
      const stream = new EventSource(api('/api/logs/stream', { job: `${namespace}/${job}`, pod, container }));
      stream.addEventListener('line', (event) =>
        pre.append(`${JSON.parse((event as MessageEvent<string>).data) as string}\n`),
      );
      stream.addEventListener('end', () => stream.close());
      logStreams.push(stream);
    }
  }
}

async function act(action: string, name: string): Promise<void> {
  const label =
    action === 'reconcile' ? 'Reconcile (with its source)' : action === 'suspend' ? 'Suspend' : 'Resume';
  if (!confirm(`${label} Kustomization ${name}?`)) return;
  const response = await fetch(api(`/api/actions/${action}`, { name }), {
    method: 'POST',
    headers: { 'x-sluice-token': token },
  });
  const body = (await response.json()) as { done?: string; error?: string };
  const status = el(
    'p',
    { id: 'action-result', class: body.error ? 'error' : 'ok' },
    body.error ?? body.done ?? '',
  );
  document.getElementById('detail')?.prepend(status);
}

function connect(): void {
  const source = new EventSource(api('/api/events'));
  let shown = '';
  source.addEventListener('pipelines', (event) => {
    const data = (event as MessageEvent<string>).data;
    // A status write that changes nothing on the page redraws nothing, so nothing moves under the pointer.
    if (data === shown) return;
    shown = data;
    snapshot = JSON.parse(data) as UiSnapshot;
    render();
    document.body.dataset['updates'] = String(Number(document.body.dataset['updates'] ?? 0) + 1);
    if (selected) void showDetail(selected);
  });
  source.addEventListener('change', (event) => {
    changes.push(JSON.parse((event as MessageEvent<string>).data) as (typeof changes)[number]);
    if (changes.length > 200) changes.splice(0, changes.length - 200);
  });
  source.addEventListener('error', () => {
    document.body.dataset['connection'] = 'lost';
  });
  source.addEventListener('open', () => {
    document.body.dataset['connection'] = 'open';
  });
}

const style = document.createElement('style');
style.textContent = `
body { font: 13px system-ui, sans-serif; margin: 0; color: #222; background: #fafafa; }
header { padding: 10px 16px; background: #263238; color: #fff; }
.badge { margin-left: 12px; padding: 2px 8px; border-radius: 8px; background: #ffb300; color: #000; }
.layout { display: grid; grid-template-columns: minmax(0, 1fr) 520px; gap: 16px; padding: 12px 16px; }
#pipelines { overflow-x: auto; }
.pipeline h2 { font-size: 15px; margin: 12px 0 6px; }
.state { padding: 1px 6px; border-radius: 4px; color: #fff; background: #616161; }
.state.Ready { background: ${colours['Ready']}; } .state.Failed { background: ${colours['Failed']}; } .state.Progressing { background: ${colours['Progressing']}; }
svg.graph text { fill: #fff; font-size: 12px; } svg.graph text.title { font-weight: 600; }
svg.graph .stage { cursor: pointer; } svg.graph .stage.selected rect { stroke: #000; stroke-width: 3; }
#detail { background: #fff; border: 1px solid #ddd; padding: 8px 12px; overflow: auto; max-height: calc(100vh - 80px); }
#detail table { border-collapse: collapse; width: 100%; } #detail td, #detail th { border-bottom: 1px solid #eee; padding: 2px 4px; text-align: left; vertical-align: top; }
.error { color: #fff; background: ${colours['Failed']}; padding: 6px 8px; border-radius: 4px; }
.ok { color: #fff; background: ${colours['Ready']}; padding: 6px 8px; border-radius: 4px; }
pre { background: #111; color: #eee; padding: 6px; white-space: pre-wrap; }
#changes { font-family: ui-monospace, monospace; font-size: 12px; color: #444; }
`;
document.head.append(style);
connect();
