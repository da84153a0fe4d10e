import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManifestError, parseManifests, parseYamlDocuments, toYaml } from './yaml.ts';

const object = (data: string): string =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n${data}`;

describe('parseYamlDocuments: Kubernetes (YAML 1.1) scalars', () => {
  const scalars: [string, unknown][] = [
    ['yes', true],
    ['no', false],
    ['on', true],
    ['off', false],
    ['y', true],
    ['n', false],
    ['True', true],
    ['~', null],
    ['null', null],
    ['0644', 420],
    ['"0644"', '0644'],
    ['0x1F', 31],
    ['1e3', 1000],
    ['1_000', 1000],
    ['3.5', 3.5],
    ['2001-12-14', '2001-12-14'],
    ['2001-12-14T21:59:43.10-05:00', '2001-12-14T21:59:43.10-05:00'],
    ['12:30', '12:30'],
    ['!!binary aGVsbG8=', 'hello'],
    ['${VAR}', '${VAR}'],
  ];
  for (const [text, value] of scalars) {
    it(`${text} → ${JSON.stringify(value)}`, () => {
      assert.deepEqual(parseYamlDocuments(`v: ${text}\n`, 'f.yaml'), [{ value: { v: value }, line: 1 }]);
    });
  }

  it('keeps yes/no/on/y keys as the words written, as Flux (kustomize) does, and still values them as booleans', () => {
    assert.deepEqual(parseYamlDocuments('y: 1\nno: 2\n', 'f.yaml')[0]?.value, { y: 1, no: 2 });
    assert.deepEqual(parseYamlDocuments('yes: a\non: b\ny: c\n', 'f.yaml')[0]?.value, {
      yes: 'a',
      on: 'b',
      y: 'c',
    });
    assert.deepEqual(parseYamlDocuments('enabled: yes\n', 'f.yaml')[0]?.value, { enabled: true });
    assert.throws(() => parseYamlDocuments('on: a\non: b\n', 'f.yaml'), /f\.yaml:2:1: .*duplicate/i);
  });

  it('resolves merge keys', () => {
    const [document] = parseYamlDocuments('base: &b {a: 1}\nx:\n  <<: *b\n  c: 2\n', 'f.yaml');
    assert.deepEqual(document?.value, { base: { a: 1 }, x: { a: 1, c: 2 } });
  });
});

describe('parseYamlDocuments: documents and errors', () => {
  it('drops empty and comment-only documents and reports where each document starts', () => {
    const text = `---\n# nothing\n---\n${object('  a: "1"\n')}---\n---\n\n${object('  b: "2"\n')}`;
    const documents = parseYamlDocuments(text, 'f.yaml');
    assert.deepEqual(
      documents.map((d) => d.line),
      [4, 13],
    );
  });

  it('names the source, line and key of a duplicate key', () => {
    const text = `${object('  a: "1"\n')}---\n${object('  a: "1"\n  b: "2"\n  a: "3"\n')}`;
    assert.throws(
      () => parseYamlDocuments(text, 'deploy/job.yaml'),
      (error: unknown) =>
        error instanceof ManifestError &&
        error.message === 'deploy/job.yaml:15:3: duplicate key "a"' &&
        error.source === 'deploy/job.yaml' &&
        error.line === 15 &&
        error.column === 3,
    );
  });

  it('names the line of a syntax error', () => {
    assert.throws(
      () => parseYamlDocuments('a: 1\nb: [1, 2\nc: 3\n', 'f.yaml'),
      /^ManifestError: f\.yaml:\d+:\d+: /,
    );
    assert.throws(() => parseYamlDocuments('a: *nowhere\n', 'f.yaml'), /f\.yaml:1:1: Unresolved alias/);
  });

  it('rejects alias bombs', () => {
    const bomb = [
      'a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9]',
      'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]',
      'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]',
      'd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c]',
    ].join('\n');
    assert.throws(() => parseYamlDocuments(bomb, 'bomb.yaml'), /bomb\.yaml:1:1: Excessive alias count/);
  });
});

describe('parseManifests', () => {
  it('returns the objects of every document and the items of a List', () => {
    const list =
      'apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Secret, metadata: {name: s}}\n';
    const objects = parseManifests(`${object('  a: "1"\n')}---\n${list}`, 'f.yaml');
    assert.deepEqual(
      objects.map((o) => `${o.kind}/${o.metadata?.name}`),
      ['ConfigMap/x', 'Secret/s'],
    );
  });

  it('requires apiVersion, kind and metadata.name', () => {
    for (const text of [
      'kind: A\nmetadata: {name: a}\n',
      'apiVersion: v1\nmetadata: {name: a}\n',
      'apiVersion: v1\nkind: A\n',
    ]) {
      assert.throws(() => parseManifests(`${object('  a: "1"\n')}---\n${text}`, 'out.yaml'), {
        message: `out.yaml:8:1: failed to decode Kubernetes apiVersion, kind and name from: ${JSON.stringify(
          parseYamlDocuments(text, 'x')[0]?.value,
        )}`,
      });
    }
    assert.throws(
      () => parseManifests('- a\n', 'out.yaml'),
      /out\.yaml:1:1: failed to decode Kubernetes apiVersion/,
    );
  });
});

describe('toYaml', () => {
  it('writes sorted keys, block sequences like kustomize, and quotes strings YAML 1.1 would retype', () => {
    const text = toYaml([
      {
        kind: 'ConfigMap',
        apiVersion: 'v1',
        metadata: { name: 'y' },
        data: { b: 'yes', a: '0644', c: '${X}', d: '12:30' },
      },
      { apiVersion: 'v1', kind: 'List', items: [1, 2] },
    ]);
    assert.equal(
      text,
      [
        'apiVersion: v1',
        'data:',
        '  a: "0644"',
        '  b: "yes"',
        '  c: ${X}',
        '  d: "12:30"',
        'kind: ConfigMap',
        'metadata:',
        '  name: "y"',
        '---',
        'apiVersion: v1',
        'items:',
        '- 1',
        '- 2',
        'kind: List',
        '',
      ].join('\n'),
    );
  });

  it('round-trips through parseManifests without aliases for shared values', () => {
    const shared = { app: 'web' };
    const objects = [
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 's', labels: shared },
        spec: { selector: shared },
      },
    ];
    const text = toYaml(objects);
    assert.doesNotMatch(text, /[&*]a\d/);
    assert.deepEqual(parseManifests(text, 'x'), objects);
    assert.equal(toYaml([]), '');
  });
});
