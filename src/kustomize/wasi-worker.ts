// The worker thread of runWasi (wasi.ts): instantiates the module with WASI, one directory preopened, an empty
// environment, stdin empty, and stdout and stderr captured in memory up to a cap; then, told to, runs it once and
// posts the outcome.
import { closeSync, openSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { concatBytes, type WorkerReply } from './wasi.ts';

/** First message: the module and the directory to open; the instance is made at once, before any run. */
export interface Prepare {
  module: WebAssembly.Module;
  preopen: { host: string; guest: string };
}

/** Second message: the run itself (the directory now holds what it reads). */
export interface Run {
  args: string[];
  maxOutputBytes: number;
}

class OutputLimit extends Error {}

/** WASI's errno EBADF. */
const badDescriptor = 8;

// Node marks WASI experimental and says so on stderr, where the controller writes only JSON log lines.
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = ((warning: string | Error, ...rest: never[]) => {
  if (!String(warning).includes('WASI')) emitWarning(warning, ...rest);
}) as typeof process.emitWarning;
const { WASI } = await import('node:wasi');

const messages = (): Promise<unknown> => new Promise((resolve) => parentPort?.once('message', resolve));
const reply = (message: WorkerReply): void => parentPort?.postMessage(message);
const stdin = openSync('/dev/null', 'r');
try {
  const prepare = (await messages()) as Prepare;
  const wasi = new WASI({
    version: 'preview1',
    args: [],
    env: {},
    preopens: { [prepare.preopen.guest]: prepare.preopen.host },
    stdin,
    returnOnExit: true,
  });
  const imports = wasi.getImportObject() as { wasi_snapshot_preview1: Record<string, unknown> };
  const calls = imports.wasi_snapshot_preview1;
  const fdWrite = calls.fd_write as (fd: number, iovs: number, count: number, written: number) => number;
  const captured: Record<number, Uint8Array[]> = { 1: [], 2: [] };
  let total = 0;
  let run: Run = { args: [], maxOutputBytes: 0 };
  const exported: { memory?: WebAssembly.Memory } = {};
  const view = (): DataView | undefined => exported.memory && new DataView(exported.memory.buffer);
  // stdout and stderr are kept here, counted, instead of reaching the controller's own descriptors.
  calls.fd_write = (fd: number, iovs: number, count: number, writtenAt: number): number => {
    const chunks = captured[fd];
    const memory = view();
    if (!chunks) return fdWrite(fd, iovs, count, writtenAt);
    if (!memory) return badDescriptor;
    let written = 0;
    for (let i = 0; i < count; i++) {
      const pointer = memory.getUint32(iovs + i * 8, true);
      const length = memory.getUint32(iovs + i * 8 + 4, true);
      total += length;
      if (total > run.maxOutputBytes) throw new OutputLimit();
      chunks.push(new Uint8Array(memory.buffer, pointer, length).slice());
      written += length;
    }
    memory.setUint32(writtenAt, written, true);
    return 0;
  };
  // The arguments are the run's, known only once the instance is made: given here, as WASI's args_* would.
  const encoded = (): Uint8Array[] => run.args.map((arg) => new TextEncoder().encode(`${arg}\0`));
  calls.args_sizes_get = (countAt: number, sizeAt: number): number => {
    const memory = view();
    if (!memory) return badDescriptor;
    const args = encoded();
    memory.setUint32(countAt, args.length, true);
    memory.setUint32(
      sizeAt,
      args.reduce((sum, arg) => sum + arg.length, 0),
      true,
    );
    return 0;
  };
  calls.args_get = (pointersAt: number, bufferAt: number): number => {
    const memory = view();
    if (!memory) return badDescriptor;
    let at = bufferAt;
    encoded().forEach((arg, i) => {
      memory.setUint32(pointersAt + i * 4, at, true);
      new Uint8Array(memory.buffer, at, arg.length).set(arg);
      at += arg.length;
    });
    return 0;
  };
  const instance = await WebAssembly.instantiate(prepare.module, imports as WebAssembly.Imports);
  exported.memory = Object.values(instance.exports).find(
    (value): value is WebAssembly.Memory => value instanceof WebAssembly.Memory,
  );
  reply({ kind: 'prepared' });
  run = (await messages()) as Run;
  const exitCode = wasi.start(instance);
  reply({
    kind: 'exit',
    exitCode,
    stdout: concatBytes(...(captured[1] ?? [])),
    stderr: concatBytes(...(captured[2] ?? [])),
  });
} catch (error) {
  reply(
    error instanceof OutputLimit
      ? { kind: 'output-limit' }
      : { kind: 'error', message: error instanceof Error ? error.message : String(error) },
  );
} finally {
  closeSync(stdin);
}
