import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { withMemoryMaximum } from './wasi.ts';

// The smallest module with a memory: one page to start, no maximum, exported as "mem".
const module = Uint8Array.of(
  ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
  ...[0x05, 0x03, 0x01, 0x00, 0x01],
  ...[0x07, 0x07, 0x01, 0x03, 0x6d, 0x65, 0x6d, 0x02, 0x00],
);

async function memoryOf(bytes: Uint8Array): Promise<{ grow(pages: number): number }> {
  const instance = await WebAssembly.instantiate(await WebAssembly.compile(bytes));
  return instance.exports.mem as unknown as { grow(pages: number): number };
}

describe('withMemoryMaximum', () => {
  it('caps the linear memory a module may grow to', async () => {
    const capped = await memoryOf(withMemoryMaximum(module, 3 * 65536));
    assert.equal(capped.grow(2), 1);
    assert.throws(() => capped.grow(1), RangeError);
    const uncapped = await memoryOf(module);
    assert.equal(uncapped.grow(10), 1);
  });

  it('leaves a module without a memory section as it is', () => {
    const empty = module.subarray(0, 8);
    assert.equal(withMemoryMaximum(empty, 65536), empty);
  });
});
