import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rfc3339Nano } from './reconcile.ts';

describe('rfc3339Nano', () => {
  it("formats as Go's RFC3339Nano in UTC, trailing zeros of the fraction dropped", () => {
    const second = BigInt(Date.UTC(2026, 4, 1, 10, 20, 30)) * 1_000_000n;
    assert.equal(rfc3339Nano(second + 123_456_000n), '2026-05-01T10:20:30.123456Z');
    assert.equal(rfc3339Nano(second + 1n), '2026-05-01T10:20:30.000000001Z');
    assert.equal(rfc3339Nano(second), '2026-05-01T10:20:30Z');
  });
});
