import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatTable, truncateHex } from './table.ts';

describe('truncateHex', () => {
  it('cuts SHA-1 to SHA-512 hex runs to 8 characters, wherever they are', () => {
    const sha1 = '67e2c98a60dc92283531412a9e604dd4bae005a9';
    assert.equal(truncateHex(`main@sha1:${sha1}`), 'main@sha1:67e2c98a');
    assert.equal(
      truncateHex(`stored artifact for revision 'main@sha1:${sha1}'`),
      "stored artifact for revision 'main@sha1:67e2c98a'",
    );
    assert.equal(
      truncateHex(`sha256:${'a'.repeat(64)} and ${'b'.repeat(128)}`),
      'sha256:aaaaaaaa and bbbbbbbb',
    );
  });

  it('leaves shorter, longer and non-word hex runs alone', () => {
    assert.equal(truncateHex('a'.repeat(39)), 'a'.repeat(39));
    assert.equal(truncateHex('a'.repeat(129)), 'a'.repeat(129));
    assert.equal(truncateHex(`x${'a'.repeat(40)}`), `x${'a'.repeat(40)}`);
    assert.equal(truncateHex('ABCDEF'.repeat(7)), 'ABCDEF'.repeat(7));
    assert.equal(truncateHex(''), '');
  });
});

describe('formatTable', () => {
  it("lays a table out byte for byte as flux's golden output", () => {
    // flux2 cmd/flux/testdata/kustomization/get_kustomization_from_git.golden
    assert.equal(
      formatTable(
        ['Name', 'Revision', 'Suspended', 'Ready', 'Message'],
        [['tkfg', '6.0.0/627d5c4b', 'False', 'True', 'Applied revision: 6.0.0/627d5c4b']],
      ),
      'NAME\tREVISION      \tSUSPENDED\tREADY\tMESSAGE                          \n' +
        'tkfg\t6.0.0/627d5c4b\tFalse    \tTrue \tApplied revision: 6.0.0/627d5c4b\t\n',
    );
  });

  it('pads every column to its widest cell, header included', () => {
    assert.equal(
      formatTable(
        ['Name', 'Last_seen'],
        [
          ['podinfo-shard1', '1s'],
          ['a', '10m'],
        ],
      ),
      'NAME          \tLAST SEEN \n' + 'podinfo-shard1\t1s       \t\n' + 'a             \t10m      \t\n',
    );
  });

  it('spreads a multi-line cell over several lines, padding the other cells', () => {
    assert.equal(
      formatTable(['Reason', 'Message'], [['Progressing', 'ConfigMap/a created\nJob/b created']]),
      'REASON     \tMESSAGE             \n' +
        'Progressing\tConfigMap/a created\t\n' +
        '           \tJob/b created      \t\n',
    );
  });

  it('prints rows alone without a header, and nothing for nothing', () => {
    assert.equal(formatTable([], [['a', 'bc']]), 'a\tbc\t\n');
    assert.equal(formatTable([], []), '');
  });
});
