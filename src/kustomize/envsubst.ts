// Flux's post-build variable substitution language (fluxcd/pkg/envsubst, a fork of drone/envsubst), quirks
// included: `${var}` and its bash-like operators, `$$` as an escaped `$`, a bare `$var` left alone, and a
// strict mode in which an unset variable without a default operator is an error.
// Own parser: no npm package implements this dialect (strict mode, `$$`, Go-style globs and byte lengths).
//
// Where the dialect departs from bash (all on purpose, to match Flux):
// - every default operator (`=`, `:=`, `:-`, `:?`, `:+`) means "use the default when the value is empty";
//   `${var-x}` and `${var+x}` are syntax errors ("missing closing brace");
// - `${#var}`, `${var:pos}` and `${var:pos:len}` count UTF-8 bytes;
// - `#`/`##`/`%`/`%%` patterns are Go globs in which `*` and `?` also match `/`, never testing an empty prefix;
// - `/`, `//`, `/#`, `/%` replace a literal string, not a glob; `\/`, `\\` and `$$` escape inside them only;
// - the arguments of an expression are expanded (and may fail in strict mode) even when they are not used.

import { compilePattern, type Pattern } from '../regexp.ts';

export interface EnvsubstOptions {
  /** Fail on an unset variable that has no default operator (Flux's default since v1.9). Default true. */
  strict?: boolean;
}

/** A substitution that failed: bad syntax, or an unset variable in strict mode (then `variable` names it). */
export class EnvsubstError extends Error {
  readonly variable: string | undefined;
  constructor(message: string, variable?: string) {
    super(message);
    this.name = 'EnvsubstError';
    this.variable = variable;
  }
}

interface Expansion {
  name: string;
  /** '' for plain `${var}`; otherwise the operator as written: ':-', '//', '^^', '#' (length or trim)... */
  operator: string;
  args: TemplateNode[];
}

type TemplateNode = string | Expansion;

// The syntax errors of Flux's parser, word for word.
const badSubstitution = 'bad substitution';
const missingClosingBrace = 'missing closing brace';
const unparsableName = 'unable to parse variable name';
const unparsableArgument = 'unable to parse substitution within function';

const defaultOperators = new Set(['-', '+', '=', '?', ':-', ':+', ':=', ':?']);
const identifierChar = /^[\p{L}\p{Nd}_]$/u;

/** Expands `${...}` expressions in `text` with `vars`. */
export function envsubst(
  text: string,
  vars: ReadonlyMap<string, string>,
  options: EnvsubstOptions = {},
): string {
  const strict = options.strict ?? true;
  const lookup = (name: string): string | undefined => vars.get(name) ?? (strict ? undefined : '');
  return new TemplateParser(text)
    .parse()
    .map((node) => evaluate(node, lookup))
    .join('');
}

class TemplateParser {
  private readonly text: string;
  private pos = 0;
  /** Where the outermost expression being parsed starts, for error messages. */
  private expressionStart = 0;

  constructor(text: string) {
    this.text = text;
  }

  parse(): TemplateNode[] {
    const nodes: TemplateNode[] = [];
    let literal = '';
    while (this.pos < this.text.length) {
      if (this.atExpression()) {
        if (literal) nodes.push(literal);
        literal = '';
        this.expressionStart = this.pos;
        this.pos += 2;
        nodes.push(this.parseExpansion());
      } else if (this.text.startsWith('$$', this.pos)) {
        literal += '$';
        this.pos += 2;
      } else {
        literal += this.text[this.pos];
        this.pos += 1;
      }
    }
    if (literal) nodes.push(literal);
    return nodes;
  }

  /** Parses what follows `${`, up to and including the closing brace. */
  private parseExpansion(): Expansion {
    if (this.peek() === '#') {
      this.pos += 1;
      const name = this.readIdentifier();
      if (!name) this.fail(badSubstitution);
      this.expectClose();
      return { name, operator: '#', args: [] };
    }
    const name = this.readIdentifier();
    if (!name) this.fail(unparsableName);
    const next = this.peek();
    if (next === ':') {
      const afterColon = this.text.charAt(this.pos + 1);
      if (afterColon !== '' && '=-?+'.includes(afterColon)) return this.parseDefault(name, 2);
      return this.parseSubstring(name);
    }
    if (next === '=') return this.parseDefault(name, 1);
    if (next === ',' || next === '^') return this.parseCase(name);
    if (next === '/') return this.parseReplace(name);
    if (next === '#' || next === '%') return this.parseTrim(name, next);
    if (next !== '}') this.fail(missingClosingBrace);
    this.pos += 1;
    return { name, operator: '', args: [] };
  }

  /** `${var=a${b}c}`, `${var:-...}`: the default is any run of text and expressions up to the first `}`. */
  private parseDefault(name: string, operatorLength: number): Expansion {
    const operator = this.text.slice(this.pos, this.pos + operatorLength);
    this.pos += operatorLength;
    const args: TemplateNode[] = [];
    while (this.peek() !== '}') args.push(this.parseArgument((c) => c !== '}', false));
    this.pos += 1;
    return { name, operator, args };
  }

  /** `${var:pos}`, `${var:pos:len}`; each argument is one run of text or one expression. */
  private parseSubstring(name: string): Expansion {
    this.pos += 1;
    const args = [this.parseArgument((c) => c !== ':' && c !== '}', false)];
    if (this.peek() === '}') {
      this.pos += 1;
      return { name, operator: ':', args };
    }
    if (this.peek() !== ':') this.fail(badSubstitution);
    while (this.peek() === ':') this.pos += 1;
    args.push(this.parseArgument((c) => c !== '}', false));
    this.expectClose();
    return { name, operator: ':', args };
  }

  /** `${var^}`, `${var^^}`, `${var,}`, `${var,,}` (a mixed pair such as `,^` parses and changes nothing). */
  private parseCase(name: string): Expansion {
    let operator = '';
    while (operator.length < 2 && (this.peek() === ',' || this.peek() === '^')) {
      operator += this.peek();
      this.pos += 1;
    }
    this.expectClose();
    return { name, operator, args: [] };
  }

  /** `${var/pattern/replacement}` and its `//`, `/#`, `/%` forms; an empty replacement deletes. */
  private parseReplace(name: string): Expansion {
    let operator = '/';
    this.pos += 1;
    const second = this.peek();
    if (second === '/' || second === '#' || second === '%') {
      operator += second;
      this.pos += 1;
    }
    const args = [this.peek() === '/' ? '' : this.parseArgument((c) => c !== '/', true)];
    if (this.peek() !== '/') this.fail(badSubstitution);
    while (this.peek() === '/') this.pos += 1;
    if (this.peek() === '}') {
      this.pos += 1;
      return { name, operator, args };
    }
    args.push(this.parseArgument((c) => c !== '}', true));
    this.expectClose();
    return { name, operator, args };
  }

  /** `${var#glob}`, `${var##glob}`, `${var%glob}`, `${var%%glob}`. */
  private parseTrim(name: string, mark: string): Expansion {
    let operator = '';
    while (operator.length < 2 && this.peek() === mark) {
      operator += mark;
      this.pos += 1;
    }
    const args = [this.parseArgument((c) => c !== '}', false)];
    this.expectClose();
    return { name, operator, args };
  }

  /** One argument: a nested expression, or a non-empty run of accepted characters stopping before `${`. */
  private parseArgument(accept: (c: string) => boolean, escapes: boolean): TemplateNode {
    if (this.pos >= this.text.length) this.fail(unparsableArgument);
    if (this.atExpression()) {
      this.pos += 2;
      return this.parseExpansion();
    }
    let value = '';
    let first = true;
    while (this.pos < this.text.length && !this.atExpression()) {
      const c = this.text.charAt(this.pos);
      if (escapes && this.atEscape()) {
        value += this.text.charAt(this.pos + 1);
        this.pos += 2;
      } else if (accept(c)) {
        value += c;
        this.pos += 1;
      } else if (first) {
        this.fail(unparsableArgument);
      } else {
        break;
      }
      first = false;
    }
    return value;
  }

  private readIdentifier(): string {
    const start = this.pos;
    for (;;) {
      const codePoint = this.text.codePointAt(this.pos);
      if (codePoint === undefined) break;
      const c = String.fromCodePoint(codePoint);
      if (!identifierChar.test(c)) break;
      this.pos += c.length;
    }
    return this.text.slice(start, this.pos);
  }

  private expectClose(): void {
    if (this.peek() !== '}') this.fail(badSubstitution);
    this.pos += 1;
  }

  private peek(): string {
    return this.text.charAt(this.pos);
  }

  private atExpression(): boolean {
    return this.text.startsWith('${', this.pos);
  }

  /** `$$`, `\/` and `\\`: each stands for its second character. */
  private atEscape(): boolean {
    const pair = this.text.slice(this.pos, this.pos + 2);
    return pair === '$$' || pair === '\\/' || pair === '\\\\';
  }

  private fail(reason: string): never {
    const before = this.text.slice(0, this.expressionStart);
    const line = before.split('\n').length;
    const column = this.expressionStart - before.lastIndexOf('\n');
    // The variable's name only: the text after it may be a decrypted Secret value, and the message reaches events.
    const name = /^[A-Za-z_][A-Za-z0-9_]{0,63}/.exec(this.text.slice(this.expressionStart + 2))?.[0];
    const what = name ? `\${${name}` : '${';
    throw new EnvsubstError(`${reason} at line ${line}, column ${column}: ${JSON.stringify(what)}`);
  }
}

/**
 * The longest value a pattern may trim (`${var#glob}` and the like): each trim tests every prefix, so the work
 * grows with the square of the value's length, and the value and pattern are a tenant's.
 */
export const maxTrimmedLength = 4096;
const trimOperators = new Set(['#', '##', '%', '%%']);

function evaluate(node: TemplateNode, lookup: (name: string) => string | undefined): string {
  if (typeof node === 'string') return node;
  const args = node.args.map((arg) => evaluate(arg, lookup));
  const value = lookup(node.name);
  if (value === undefined && !defaultOperators.has(node.operator)) {
    throw new EnvsubstError(`variable not set (strict mode): ${JSON.stringify(node.name)}`, node.name);
  }
  if (trimOperators.has(node.operator) && args.length > 0 && [...(value ?? '')].length > maxTrimmedLength) {
    throw new EnvsubstError(
      `the value of ${JSON.stringify(node.name)} is longer than ${maxTrimmedLength} characters, the most a pattern may trim`,
      node.name,
    );
  }
  return applyOperator(node.operator, value ?? '', args);
}

function applyOperator(operator: string, value: string, args: string[]): string {
  const [first = '', second] = args;
  switch (operator) {
    case ',':
      return mapFirstCodePoint(value, lowerCodePoint);
    case ',,':
      return mapCodePoints(value, lowerCodePoint);
    case '^':
      return mapFirstCodePoint(value, upperCodePoint);
    case '^^':
      return mapCodePoints(value, upperCodePoint);
    case '#':
      return args.length === 0 ? String(Buffer.byteLength(value)) : trimPrefix(value, first, false);
    case '##':
      return trimPrefix(value, first, true);
    case '%':
      return trimSuffix(value, first, false);
    case '%%':
      return trimSuffix(value, first, true);
    case ':':
      return substring(value, args);
    case '/':
      return replaceLiteral(value, first, second ?? '', 1);
    case '//':
      return replaceLiteral(value, first, second ?? '', Infinity);
    case '/#':
      if (second === undefined || !value.startsWith(first)) return value;
      return second + value.slice(first.length);
    case '/%':
      if (second === undefined || !value.endsWith(first)) return value;
      return value.slice(0, value.length - first.length) + second;
    default:
      // Plain `${var}`, every default operator, and a mixed case pair such as `,^`.
      return value === '' && args.length > 0 ? args.join('') : value;
  }
}

// Go maps case one rune at a time, so a character whose case mapping is longer (ß → SS) stays as it is.
const upperCodePoint = (c: string): string => {
  const upper = c.toUpperCase();
  return [...upper].length === 1 ? upper : c;
};
const lowerCodePoint = (c: string): string => {
  const lower = c.toLowerCase();
  return [...lower].length === 1 ? lower : c;
};
const mapCodePoints = (value: string, map: (c: string) => string): string => Array.from(value, map).join('');
function mapFirstCodePoint(value: string, map: (c: string) => string): string {
  const first = value.codePointAt(0);
  if (first === undefined) return value;
  const c = String.fromCodePoint(first);
  return map(c) + value.slice(c.length);
}

/** Go's strconv.Atoi: optional sign and decimal digits only. */
function parseInteger(text: string): number | undefined {
  if (!/^[+-]?[0-9]+$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** `${var:pos:len}` on UTF-8 bytes: a negative pos counts from the end, a negative len ends before the end. */
function substring(value: string, args: string[]): string {
  const bytes = Buffer.from(value, 'utf8');
  const size = bytes.length;
  const parsedPos = parseInteger(args[0] ?? '');
  if (parsedPos === undefined) return value;
  const pos = parsedPos < 0 ? Math.max(size + parsedPos, 0) : parsedPos;
  if (args.length === 1) return pos < size ? bytes.subarray(pos).toString('utf8') : '';
  const length = parseInteger(args[1] ?? '');
  if (length === undefined) return value;
  if (length < 0) {
    const end = size + length;
    return end < pos ? '' : bytes.subarray(pos, end).toString('utf8');
  }
  if (pos + length >= size) return pos < size ? bytes.subarray(pos).toString('utf8') : '';
  return bytes.subarray(pos, pos + length).toString('utf8');
}

/** Go's strings.Replace: an empty `old` matches before every character and at the end. */
function replaceLiteral(value: string, old: string, replacement: string, limit: number): string {
  if (old === '') {
    const chars = [...value];
    let out = '';
    let done = 0;
    for (let i = 0; i <= chars.length; i++) {
      if (done < limit) {
        out += replacement;
        done += 1;
      }
      out += chars[i] ?? '';
    }
    return out;
  }
  if (limit === Infinity) return value.split(old).join(replacement);
  const at = value.indexOf(old);
  return at < 0 ? value : value.slice(0, at) + replacement + value.slice(at + old.length);
}

/** Removes the shortest (or longest) non-empty prefix matching the glob; an invalid glob changes nothing. */
function trimPrefix(value: string, pattern: string, longest: boolean): string {
  const glob = compileGlob(pattern);
  if (!glob) return value;
  const chars = [...value];
  for (let i = 1; i <= chars.length; i++) {
    const length = longest ? chars.length + 1 - i : i;
    if (glob.test(chars.slice(0, length).join(''))) return chars.slice(length).join('');
  }
  return value;
}

// Flux trims a suffix by reversing both the value and the pattern (so `${v%[ab]}` never matches, as in Flux).
function trimSuffix(value: string, pattern: string, longest: boolean): string {
  const reverse = (s: string): string => [...s].reverse().join('');
  return reverse(trimPrefix(reverse(value), reverse(pattern), longest));
}

/**
 * Go's path.Match syntax (`*`, `?`, `[^a-z]`, `\x`) as an anchored RegExp, with `*` and `?` matching any
 * character including `/` as in Flux's copy of it; undefined for a malformed pattern.
 */
function compileGlob(pattern: string): Pattern | undefined {
  const chars = [...pattern];
  const literal = (c: string): string => `\\x{${c.codePointAt(0)?.toString(16)}}`;
  // RE2: linear in the text, whatever the pattern; (?s) lets `.` match a newline too.
  let source = '(?s)^';
  let i = 0;
  // One class character, possibly escaped; a class may not end right after it.
  const classChar = (): string | undefined => {
    let c = chars[i];
    if (c === undefined || c === '-' || c === ']') return undefined;
    if (c === '\\') {
      i += 1;
      c = chars[i];
      if (c === undefined) return undefined;
    }
    i += 1;
    return i < chars.length ? c : undefined;
  };
  while (i < chars.length) {
    const c = chars[i] ?? '';
    i += 1;
    if (c === '*') source += '.*';
    else if (c === '?') source += '.';
    else if (c === '\\') {
      const escaped = chars[i];
      if (escaped === undefined) return undefined;
      source += literal(escaped);
      i += 1;
    } else if (c === '[') {
      const negated = chars[i] === '^';
      if (negated) i += 1;
      const ranges: string[] = [];
      let count = 0;
      while (!(chars[i] === ']' && count > 0)) {
        const low = classChar();
        if (low === undefined) return undefined;
        let high = low;
        if (chars[i] === '-') {
          i += 1;
          const end = classChar();
          if (end === undefined) return undefined;
          high = end;
        }
        count += 1;
        // Go accepts an inverted range and simply never matches it; a RegExp would reject it.
        if ((low.codePointAt(0) ?? 0) <= (high.codePointAt(0) ?? 0))
          ranges.push(`${literal(low)}-${literal(high)}`);
      }
      i += 1;
      source += `[${negated ? '^' : ''}${ranges.join('')}]`;
    } else source += literal(c);
  }
  try {
    return compilePattern(`${source}$`);
  } catch {
    return undefined;
  }
}
