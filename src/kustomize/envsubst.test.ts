import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EnvsubstError, envsubst, maxTrimmedLength } from './envsubst.ts';

type Vars = Record<string, string>;
const run = (input: string, vars: Vars, strict = true): string =>
  envsubst(input, new Map(Object.entries(vars)), { strict });

const expansions: { input: string; vars: Vars; output: string; why?: string }[] = [
  { input: 'abcdEFGH28ij', vars: {}, output: 'abcdEFGH28ij' },
  { input: 'image: ${IMAGE}:${TAG}', vars: { IMAGE: 'nginx', TAG: '1.27' }, output: 'image: nginx:1.27' },
  { input: '${#var01}', vars: { var01: 'abcdEFGH28ij' }, output: '12' },
  { input: '${#v}', vars: { v: 'héllo' }, output: '6', why: 'lengths are UTF-8 bytes, as in Go' },
  { input: '${var01^}', vars: { var01: 'abcdEFGH28ij' }, output: 'AbcdEFGH28ij' },
  { input: '${var01^^}', vars: { var01: 'abcdEFGH28ij' }, output: 'ABCDEFGH28IJ' },
  { input: '${var01,}', vars: { var01: 'ABCDEFGH28IJ' }, output: 'aBCDEFGH28IJ' },
  { input: '${var01,,}', vars: { var01: 'ABCDEFGH28IJ' }, output: 'abcdefgh28ij' },
  { input: '${v^^}', vars: { v: 'straße' }, output: 'STRAßE', why: 'case maps one character at a time' },
  {
    input: '${v,^}',
    vars: { v: 'MiXed' },
    output: 'MiXed',
    why: 'a mixed case pair parses and does nothing',
  },
  { input: '${v^}', vars: { v: '' }, output: '' },
  {
    input: '${path:11}',
    vars: { path: '/home/bozo/ideas/thoughts.for.today' },
    output: 'ideas/thoughts.for.today',
  },
  { input: '${path:11:5}', vars: { path: '/home/bozo/ideas/thoughts.for.today' }, output: 'ideas' },
  { input: '${s:9:50}', vars: { s: '123456789123456789' }, output: '123456789' },
  {
    input: '${s:-3:2}',
    vars: { s: '123456789123456789' },
    output: '123456789123456789',
    why: ':- is the default',
  },
  { input: '${s:${n}:2}', vars: { s: '123456789123456789', n: '-3' }, output: '78' },
  { input: '${s:${n}:3}', vars: { s: '123456789123456789', n: '-300' }, output: '123' },
  { input: '${s:9:1}', vars: { s: '12345678' }, output: '' },
  { input: '${s:2:-1}', vars: { s: 'hello world' }, output: 'llo worl' },
  { input: '${s:8:-8}', vars: { s: 'hello world' }, output: '' },
  { input: '${s:x}', vars: { s: 'hello' }, output: 'hello', why: 'an unparsable offset returns the value' },
  { input: '${s: 1}', vars: { s: 'hello' }, output: 'hello' },
  { input: '${var=xyz}', vars: { var: 'abc' }, output: 'abc' },
  { input: '${var=xyz}', vars: {}, output: 'xyz' },
  {
    input: '${var=xyz}',
    vars: { var: '' },
    output: 'xyz',
    why: 'unlike bash, = also replaces an empty value',
  },
  { input: '${var:=xyz}', vars: {}, output: 'xyz' },
  { input: '${var:-xyz}', vars: { var: '' }, output: 'xyz' },
  { input: '${var:+xyz}', vars: {}, output: 'xyz', why: 'Flux parses :+ and :? as defaults' },
  { input: '${var:?xyz}', vars: { var: 'set' }, output: 'set' },
  { input: '${var:=}', vars: {}, output: '' },
  { input: 'something ${var=${default_var}}', vars: { default_var: 'foo' }, output: 'something foo' },
  { input: 'foo: ${var=prefix${d}-suffix}', vars: { d: 'foo1' }, output: 'foo: prefixfoo1-suffix' },
  { input: '${var:-a b/c:d}', vars: {}, output: 'a b/c:d' },
  { input: '${var:-x{y}z}', vars: {}, output: 'x{yz}', why: 'a default ends at the first }' },
  { input: '${var=${v01^^}}', vars: { v01: 'abcdEFGH28ij' }, output: 'ABCDEFGH28IJ' },
  { input: '${z/%abc/XYZ}', vars: { z: 'abcABC123ABCabc' }, output: 'abcABC123ABCXYZ' },
  { input: '${z/#abc/XYZ}', vars: { z: 'abcABC123ABCabc' }, output: 'XYZABC123ABCabc' },
  { input: '${z/#/prefix-}', vars: { z: 'somevalue' }, output: 'prefix-somevalue' },
  { input: '${z/%/-suffix}', vars: { z: 'somevalue' }, output: 'somevalue-suffix' },
  { input: '${z/#abc/}', vars: { z: 'abcabc' }, output: 'abcabc', why: '/# and /% need a replacement' },
  { input: '${z//abc/xyz}', vars: { z: 'abcABC123ABCabc' }, output: 'xyzABC123ABCxyz' },
  { input: '${z/abc/xyz}', vars: { z: 'abcABC123ABCabc' }, output: 'xyzABC123ABCabc' },
  { input: '${z/./}', vars: { z: 'foo.bar' }, output: 'foobar' },
  { input: '${z/*/-}', vars: { z: 'a*b' }, output: 'a-b', why: 'replace patterns are literal strings' },
  { input: '${z/\\//-}', vars: { z: 'foo/bar' }, output: 'foo-bar' },
  { input: '${z//\\//-}', vars: { z: 'foo/bar/baz' }, output: 'foo-bar-baz' },
  { input: '${z//\\\\/|}', vars: { z: 'a\\b' }, output: 'a|b' },
  { input: '${z//${from}/${to}}', vars: { z: 'a-b-c', from: '-', to: '+' }, output: 'a+b+c' },
  {
    input: '${z///x}',
    vars: { z: 'ab' },
    output: 'xaxbx',
    why: 'an empty pattern matches between characters',
  },
  { input: '${f#*.}', vars: { f: 'bash.string.txt' }, output: 'string.txt' },
  { input: '${f##*.}', vars: { f: 'bash.string.txt' }, output: 'txt' },
  { input: '${f%.*}', vars: { f: 'bash.string.txt' }, output: 'bash.string' },
  { input: '${f%%.*}', vars: { f: 'bash.string.txt' }, output: 'bash' },
  { input: '${f#*/}', vars: { f: 'path/to/file' }, output: 'to/file' },
  { input: '${f##*/}', vars: { f: 'path/to/file' }, output: 'file', why: '* matches / too' },
  { input: '${f#*/}', vars: { f: '/path/to/file' }, output: 'path/to/file' },
  { input: '${f#?}', vars: { f: 'abc' }, output: 'bc' },
  { input: '${f#[a-c]}', vars: { f: 'bash' }, output: 'ash' },
  { input: '${f#[^a]}', vars: { f: 'bash' }, output: 'ash' },
  { input: '${f#\\*}', vars: { f: '*x' }, output: 'x' },
  { input: '${f#*}', vars: { f: 'abc' }, output: 'bc', why: 'the empty prefix is never tried' },
  { input: '${f#[}', vars: { f: '[abc' }, output: '[abc', why: 'a malformed glob changes nothing' },
  {
    input: '${f%[c]}',
    vars: { f: 'abc' },
    output: 'abc',
    why: 'suffix globs are reversed, breaking classes',
  },
  { input: '${string#$%:*{}', vars: { string: '$%:xyz{' }, output: '' },
  { input: '$${var01}', vars: { var01: 'x' }, output: '${var01}' },
  { input: '$$string', vars: {}, output: '$string' },
  { input: 'a$$$${x}', vars: { x: 'y' }, output: 'a$${x}' },
  { input: 'a$$${x}', vars: { x: 'y' }, output: 'a$y' },
  {
    input: 'some text ${v}$${var$${v}$v${v}',
    vars: { v: 'abcd' },
    output: 'some text abcd${var${v}$vabcd',
  },
  { input: 'something $${var=${d}}', vars: { d: 'foo' }, output: 'something ${var=foo}' },
  { input: '\\\\something ${var=${d}}', vars: { d: 'foo' }, output: '\\\\something foo' },
  {
    input: 'cost: $5, $HOME, $ and {x}',
    vars: {},
    output: 'cost: $5, $HOME, $ and {x}',
    why: 'bare $ is text',
  },
  { input: '}text http://github.com', vars: {}, output: '}text http://github.com' },
  { input: '${ünïcode_1}', vars: { ünïcode_1: 'ok' }, output: 'ok' },
];

describe('envsubst expansions', () => {
  for (const { input, vars, output, why } of expansions) {
    it(`${input} → ${JSON.stringify(output)}${why ? ` (${why})` : ''}`, () => {
      assert.equal(run(input, vars, false), output);
    });
  }
});

describe('envsubst strict mode', () => {
  const failing = [
    '${missing}',
    'a: ${missing}',
    '${#missing}',
    '${missing^}',
    '${missing^^}',
    '${missing,}',
    '${missing,,}',
    '${missing:0}',
    '${missing:0:10}',
    '${missing/pattern/replacement}',
    '${missing//pattern/replacement}',
    '${missing/#pattern/replacement}',
    '${missing/%pattern/replacement}',
    '${missing#pattern}',
    '${missing##pattern}',
    '${missing%pattern}',
    '${missing%%pattern}',
    '${set:-${missing}}',
  ];
  for (const input of failing) {
    it(`${input} fails naming the variable`, () => {
      assert.throws(
        () => run(input, { set: 'x' }),
        (error: unknown) =>
          error instanceof EnvsubstError &&
          error.variable === 'missing' &&
          error.message === 'variable not set (strict mode): "missing"',
      );
    });
  }

  const passing: [string, string][] = [
    ['${missing:-fallback}', 'fallback'],
    ['${missing:=assigned}', 'assigned'],
    ['${missing=assigned}', 'assigned'],
    ['${missing:+x}', 'x'],
    ['${missing:?x}', 'x'],
    ['${empty}', ''],
    ['$missing $$missing $${missing}', '$missing $missing ${missing}'],
  ];
  for (const [input, output] of passing) {
    it(`${input} → ${JSON.stringify(output)}`, () => {
      assert.equal(run(input, { empty: '' }), output);
    });
  }

  it('substitutes an unset variable with the empty string when not strict', () => {
    assert.equal(run('a${missing}b${#missing}', {}, false), 'ab0');
  });

  it('is strict unless told otherwise', () => {
    assert.throws(() => envsubst('${x}', new Map()), /variable not set \(strict mode\): "x"/);
  });
});

describe('envsubst syntax errors', () => {
  const errors: [string, string][] = [
    ['${}', 'unable to parse variable name'],
    ['${-x}', 'unable to parse variable name'],
    ['abc ${', 'unable to parse variable name'],
    ['${var', 'missing closing brace'],
    ['${var-default}', 'missing closing brace'],
    ['${var+default}', 'missing closing brace'],
    ['${var.x}', 'missing closing brace'],
    ['${#}', 'bad substitution'],
    ['${#var:1}', 'bad substitution'],
    ['${var^^^}', 'bad substitution'],
    ['${var:1:2', 'bad substitution'],
    ['${var:1x${y}}', 'bad substitution'],
    ['${var/a}', 'bad substitution'],
    ['${var#a${b}}', 'bad substitution'],
    ['${var:}', 'unable to parse substitution within function'],
    ['${var:1:}', 'unable to parse substitution within function'],
    ['${var#}', 'unable to parse substitution within function'],
    ['${var:-abc', 'unable to parse substitution within function'],
  ];
  for (const [input, reason] of errors) {
    it(`${JSON.stringify(input)}: ${reason}`, () => {
      assert.throws(
        () => run(input, { var: 'value', y: '1', b: 'b' }, false),
        (error: unknown) => error instanceof EnvsubstError && error.message.startsWith(`${reason} at line`),
      );
    });
  }

  it('points at the line, column and variable of the expression', () => {
    assert.throws(() => run('kind: ConfigMap\ndata:\n  key: ${broken\n', {}, false), {
      message: 'missing closing brace at line 3, column 8: "${broken"',
    });
  });

  it('never quotes the text after the variable: it may be a decrypted secret', () => {
    assert.throws(
      () => run('password: ${db:-s3cr3t-value\n', {}, false),
      (error: Error) => {
        assert.equal(
          error.message,
          'unable to parse substitution within function at line 1, column 11: "${db"',
        );
        return true;
      },
    );
    assert.throws(() => run('a: ${!hunter2}', {}, false), /at line 1, column 4: "\$\{"$/);
  });
});

describe('envsubst bounds', () => {
  it('trims with a pattern in linear time per prefix, on a value a backtracking engine would stall on', () => {
    const value = 'a'.repeat(maxTrimmedLength);
    assert.equal(run('${v##*a*a*a*a*a*a*b}', { v: value }), value);
  });

  it('refuses to trim a value longer than the bound, naming the variable', () => {
    assert.throws(() => run('${v#a}', { v: 'a'.repeat(maxTrimmedLength + 1) }), {
      message: `the value of "v" is longer than ${maxTrimmedLength} characters, the most a pattern may trim`,
    });
    assert.equal(run('${#v}', { v: 'a'.repeat(maxTrimmedLength + 1) }), String(maxTrimmedLength + 1));
  });
});
