// The worker thread of runWasi (wasi.ts): instantiates the module with WASI, one directory preopened, an empty
// environment, stdin empty, and stdout and stderr captured in memory up to a cap, then runs it and posts the outcome.
import { closeSync, openSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { concatBytes, type WorkerReply } from './wasi.ts';

interface Job {
  module: WebAssembly.Module;
  args: string[];
  preopen: { host: string; guest: string };
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

const job = workerData as Job;
const reply = (message: WorkerReply): void => parentPort?.postMessage(message);
const stdin = openSync('/dev/null', 'r');
try {
  const wasi = new WASI({
    version: 'preview1',
    args: job.args,
    env: {},
    preopens: { [job.preopen.guest]: job.preopen.host },
    stdin,
    returnOnExit: true,
  });
  const imports = wasi.getImportObject() as { wasi_snapshot_preview1: Record<string, unknown> };
  const calls = imports.wasi_snapshot_preview1;
  const fdWrite = calls.fd_write as (fd: number, iovs: number, count: number, written: number) => number;
  const captured: Record<number, Uint8Array[]> = { 1: [], 2: [] };
  let total = 0;
  const exported: { memory?: WebAssembly.Memory } = {};
  // stdout and stderr are kept here, counted, instead of reaching the controller's own descriptors.
  calls.fd_write = (fd: number, iovs: number, count: number, writtenAt: number): number => {
    const chunks = captured[fd];
    const memory = exported.memory;
    if (!chunks) return fdWrite(fd, iovs, count, writtenAt);
    if (!memory) return badDescriptor;
    const view = new DataView(memory.buffer);
    let written = 0;
    for (let i = 0; i < count; i++) {
      const pointer = view.getUint32(iovs + i * 8, true);
      const length = view.getUint32(iovs + i * 8 + 4, true);
      total += length;
      if (total > job.maxOutputBytes) throw new OutputLimit();
      chunks.push(new Uint8Array(memory.buffer, pointer, length).slice());
      written += length;
    }
    view.setUint32(writtenAt, written, true);
    return 0;
  };
  const instance = await WebAssembly.instantiate(job.module, imports as WebAssembly.Imports);
  exported.memory = Object.values(instance.exports).find(
    (value): value is WebAssembly.Memory => value instanceof WebAssembly.Memory,
  );
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
