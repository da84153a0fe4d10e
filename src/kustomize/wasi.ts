// Runs a WebAssembly (WASI preview 1) program confined by construction: in a worker thread, with one directory
// preopened and nothing else. WASI gives a program no sockets and no processes, so it can open no file outside
// that directory (symlinks leading out are refused by Node's WASI), reach no network and start nothing; its
// memory has a maximum written into the module, its output is counted as it is written, and the worker is
// ended when the deadline passes. The controller's own thread keeps running meanwhile.
import { mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { readFile, rename, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

export interface WasiRun {
  /** argv, the program's name first. */
  args: string[];
  /** The only directory the program can read: `host` on this machine, seen by the program as `guest`. */
  preopen: { host: string; guest: string };
  timeoutMs: number;
  /** The most the program may write to stdout and stderr together. */
  maxOutputBytes: number;
  signal?: AbortSignal;
}

export interface WasiResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** What the worker posts back (`wasi-worker.ts`). */
export type WorkerReply =
  | { kind: 'prepared' }
  | { kind: 'exit'; exitCode: number; stdout: Uint8Array; stderr: Uint8Array }
  | { kind: 'output-limit' }
  | { kind: 'error'; message: string };

/** A run that did not end with an exit code of the program's own. */
export class WasiLimitError extends Error {
  readonly limit: 'timeout' | 'output' | 'cancelled' | 'memory';
  constructor(limit: WasiLimitError['limit'], message: string) {
    super(message);
    this.name = 'WasiLimitError';
    this.limit = limit;
  }
}

const workerFile = new URL(`./wasi-worker${path.extname(fileURLToPath(import.meta.url))}`, import.meta.url);
const compiled = new Map<string, Promise<WebAssembly.Module>>();

/** The module at `path`, compiled once per process, with its linear memory capped at `maxMemoryBytes`. */
export function loadWasiModule(path: string, maxMemoryBytes: number): Promise<WebAssembly.Module> {
  const key = `${path}\0${maxMemoryBytes}`;
  let module = compiled.get(key);
  if (!module) {
    module = readFile(path).then((bytes) => WebAssembly.compile(withMemoryMaximum(bytes, maxMemoryBytes)));
    module.catch(() => compiled.delete(key));
    compiled.set(key, module);
  }
  return module;
}

/**
 * A worker with the module instantiated, waiting to run once. Starting a worker and instantiating take tens of
 * milliseconds, so one is kept ready (unreferenced: it keeps no process alive) with an empty directory of its own
 * opened; a run moves its directory there (a rename), runs, and moves it back. A worker serves one run and ends
 * with it, so no run sees another's state.
 */
interface Ready {
  worker: Worker;
  prepared: Promise<void>;
  module: WebAssembly.Module;
  guest: string;
  /** The spare's own directory; its `root` is what the program sees as `guest`. */
  slot?: string;
  /** Where the run's directory came from while it is in the slot. */
  movedFrom?: string;
}

let spare: Ready | undefined;
/** The spares not yet discarded, so that an exit in the middle of a run still puts its directory back. */
const live = new Set<Ready>();

function prepareWorker(module: WebAssembly.Module, host: string, guest: string): Ready {
  const worker = new Worker(workerFile, {
    // The worker's own JavaScript is tiny; the program's memory is the module's, capped above.
    resourceLimits: { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 16 },
    env: {},
    stdin: false,
    stdout: false,
    stderr: false,
  });
  const prepared = new Promise<void>((resolve, reject) => {
    worker.once('message', (reply: WorkerReply) =>
      reply.kind === 'prepared'
        ? resolve()
        : reject(new Error(`the build's worker failed to start: ${reply.kind}`)),
    );
    worker.once('error', reject);
  });
  prepared.catch(() => undefined);
  worker.postMessage({ module, preopen: { host, guest } });
  return { worker, prepared, module, guest };
}

function prepareSpare(module: WebAssembly.Module, guest: string): Ready {
  const slot = mkdtempSync(path.join(tmpdir(), 'sluice-build-'));
  mkdirSync(path.join(slot, 'root'));
  const ready: Ready = { ...prepareWorker(module, path.join(slot, 'root'), guest), slot };
  ready.worker.unref();
  live.add(ready);
  return ready;
}

function discard(ready: Ready): void {
  live.delete(ready);
  void ready.worker.terminate();
  if (ready.slot) rmSync(ready.slot, { recursive: true, force: true });
}

process.once('exit', () => {
  for (const ready of live) {
    if (ready.slot && ready.movedFrom) renameSync(path.join(ready.slot, 'root'), ready.movedFrom);
    discard(ready);
  }
});

/** Runs `module` as WASI's `_start`, confined as the header says. */
export async function runWasi(module: WebAssembly.Module, run: WasiRun): Promise<WasiResult> {
  if (run.signal?.aborted) throw new WasiLimitError('cancelled', 'cancelled');
  const taken = spare?.module === module && spare.guest === run.preopen.guest ? spare : undefined;
  if (taken) spare = undefined;
  setImmediate(() => {
    if (spare?.module !== module) {
      if (spare) discard(spare);
      spare = prepareSpare(module, run.preopen.guest);
    }
  });
  const slotRoot = taken?.slot && path.join(taken.slot, 'root');
  if (taken && slotRoot) {
    taken.worker.ref();
    try {
      await taken.prepared;
      await rmdir(slotRoot);
      await rename(run.preopen.host, slotRoot);
      taken.movedFrom = run.preopen.host;
    } catch {
      // Another filesystem, say: this run opens its own directory instead.
      discard(taken);
      return runPrepared(prepareWorker(module, run.preopen.host, run.preopen.guest), run);
    }
    try {
      return await runPrepared(taken, run);
    } finally {
      await rename(slotRoot, run.preopen.host);
      taken.movedFrom = undefined;
      discard(taken);
    }
  }
  return runPrepared(prepareWorker(module, run.preopen.host, run.preopen.guest), run);
}

function runPrepared(ready: Ready, run: WasiRun): Promise<WasiResult> {
  const { worker } = ready;
  worker.ref();
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      run.signal?.removeEventListener('abort', onAbort);
      void worker.terminate();
      outcome();
    };
    const timer = setTimeout(
      () => finish(() => reject(new WasiLimitError('timeout', `timed out after ${run.timeoutMs / 1000}s`))),
      run.timeoutMs,
    );
    const onAbort = (): void => finish(() => reject(new WasiLimitError('cancelled', 'cancelled')));
    run.signal?.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (reply: WorkerReply) => {
      if (reply.kind === 'prepared') return;
      finish(() => {
        if (reply.kind === 'exit') {
          const decoder = new TextDecoder();
          resolve({
            exitCode: reply.exitCode,
            stdout: decoder.decode(reply.stdout),
            stderr: decoder.decode(reply.stderr),
          });
        } else if (reply.kind === 'output-limit') {
          reject(new WasiLimitError('output', `its output exceeds ${run.maxOutputBytes} bytes`));
        } else {
          reject(new Error(reply.message));
        }
      });
    });
    worker.on('error', (error) => finish(() => reject(error)));
    worker.on('exit', (code) =>
      finish(() => reject(new Error(`the build's worker ended (exit code ${code}) before it answered`))),
    );
    ready.prepared.then(
      () => worker.postMessage({ args: run.args, maxOutputBytes: run.maxOutputBytes }),
      (error: unknown) => finish(() => reject(error instanceof Error ? error : new Error(String(error)))),
    );
  });
}

/**
 * `bytes` with the maximum of its (single, defined) linear memory set to `maxBytes`, so the program's growth past
 * it fails inside the program instead of taking the controller's memory. A module without a memory section, or
 * one that imports its memory, is returned as it is.
 */
export function withMemoryMaximum(bytes: Uint8Array, maxBytes: number): Uint8Array {
  const pageSize = 65536;
  const maxPages = Math.max(1, Math.floor(maxBytes / pageSize));
  let position = 8; // magic and version
  const readLeb = (): number => {
    let result = 0;
    let shift = 0;
    let byte: number;
    do {
      byte = bytes[position++] ?? 0;
      result += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    return result;
  };
  while (position < bytes.length) {
    const sectionStart = position;
    const id = bytes[position++];
    const size = readLeb();
    const contentStart = position;
    if (id === 5) {
      const count = readLeb();
      const flags = bytes[position++] ?? 0;
      const minPages = readLeb();
      if (count !== 1 || (flags !== 0 && flags !== 1)) return bytes;
      const content = [...leb(1), 1, ...leb(minPages), ...leb(Math.max(minPages, maxPages))];
      return concatBytes(
        bytes.subarray(0, sectionStart),
        Uint8Array.of(5, ...leb(content.length), ...content),
        bytes.subarray(contentStart + size),
      );
    }
    position = contentStart + size;
  }
  return bytes;
}

function leb(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    out.push(byte);
  } while (value > 0);
  return out;
}

/** The parts, one after another. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
