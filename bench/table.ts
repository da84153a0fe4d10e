// The benchmarks' printed tables (Markdown, so the kept results read well as they are), and keeping them.
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { repoRoot } from '../dev/cluster.ts';

/** A Markdown table, columns padded. */
export function markdownTable(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) => `| ${r.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

/** The middle value (the upper one of an even count); NaN for none. */
export const median = (values: number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

/** Prints `report` and keeps it, with `data` as JSON, in bench/results/<name>-<started>.md and .json. */
export async function keepResults(
  name: string,
  started: string,
  report: string,
  data: object,
): Promise<void> {
  process.stdout.write(`${report}\n`);
  const dir = path.join(repoRoot, 'bench/results');
  await mkdir(dir, { recursive: true });
  const stamp = started.replace(/[:.]/g, '-');
  await writeFile(path.join(dir, `${name}-${stamp}.md`), `${report}\n`);
  await writeFile(
    path.join(dir, `${name}-${stamp}.json`),
    `${JSON.stringify({ started, ...data }, null, 2)}\n`,
  );
}

/** The newest kept results of benchmark `name` (its JSON and the file's name), if any. */
export async function latestResults<T>(name: string): Promise<{ file: string; data: T } | undefined> {
  const dir = path.join(repoRoot, 'bench/results');
  const files = (await readdir(dir).catch(() => []))
    .filter((f) => f.startsWith(`${name}-`) && f.endsWith('.json'))
    .sort();
  const file = files.at(-1);
  if (!file) return undefined;
  return { file, data: JSON.parse(await readFile(path.join(dir, file), 'utf8')) as T };
}
