import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compilePattern } from './regexp.ts';

describe('compilePattern', () => {
  it('matches as Go does, unanchored unless anchored', () => {
    assert.equal(compilePattern('^v1\\.').test('v1.2.3'), true);
    assert.equal(compilePattern('rc').test('v1.0.0-rc.1'), true);
    assert.equal(compilePattern('^(?:app)$').test('apps'), false);
  });

  it('stays linear on a pattern that makes a backtracking engine take forever', () => {
    // With RegExp this takes longer than the universe is old; RE2 answers in one pass.
    const pattern = compilePattern('^(a+)+$');
    assert.equal(pattern.test(`${'a'.repeat(100_000)}!`), false);
  });

  it("refuses what RE2 cannot bound, with Go's message", () => {
    assert.throws(() => compilePattern('(a)\\1'), /error parsing regexp: invalid escape sequence: `\\1`/);
    assert.throws(() => compilePattern('(?=x)'), /error parsing regexp: invalid or unsupported Perl syntax/);
  });
});
