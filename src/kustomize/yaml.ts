// Multi-document YAML read the way Kubernetes' decoder (sigs.k8s.io/yaml, a goyaml.v2 fork) reads it: YAML 1.1
// scalars (`0644` is 420, `yes`/`on` are true), timestamps and sexagesimal numbers kept as strings, duplicate
// keys rejected. A mapping key stays the word written (`yes:`, `on:`, `y:` are three keys, as kustomize keeps
// them). Every error names the source and the line.
import YAML, { LineCounter, isPair, isScalar, type Document, type ParsedNode } from 'yaml';
import type { KubeObject } from '../kube/client.ts';

const timestampTag = 'tag:yaml.org,2002:timestamp';
// The `yaml` schema for 1.1 minus what goyaml.v2 does not resolve: timestamps and base-60 numbers (`12:30`).
const parseOptions = {
  version: '1.1',
  // Keys compare as written: `yes` and `on` would both be true as values.
  uniqueKeys: (a: unknown, b: unknown) => keyText(a) === keyText(b),
  // Unknown tags and the like become values, not process warnings.
  logLevel: 'error',
  customTags: (tags: YAML.Tags) =>
    tags.filter((tag) =>
      typeof tag === 'string'
        ? !['timestamp', 'intTime', 'floatTime'].includes(tag)
        : tag.tag !== timestampTag && tag.format !== 'TIME',
    ),
} as const;
const stringifyOptions = {
  version: '1.1',
  lineWidth: 0,
  indentSeq: false,
  sortMapEntries: true,
  aliasDuplicateObjects: false,
} as const;
// Rejects "billion laughs" documents; Kubernetes manifests have no use for many aliases.
const maxAliasCount = 100;

/** A YAML or manifest error at `source:line:column`. */
export class ManifestError extends Error {
  readonly source: string;
  readonly line: number;
  readonly column: number;
  /** The message without its location. */
  readonly reason: string;
  constructor(source: string, line: number, column: number, reason: string) {
    super(`${source}:${line}:${column}: ${reason}`);
    this.name = 'ManifestError';
    this.source = source;
    this.line = line;
    this.column = column;
    this.reason = reason;
  }
}

export interface YamlDocument {
  value: unknown;
  /** 1-based line where the document's content starts. */
  line: number;
}

/**
 * Parses every document of `text`, dropping empty and null ones (a `---` with only comments).
 * `source` names the text in errors, e.g. a file path relative to the repository.
 */
export function parseYamlDocuments(text: string, source: string): YamlDocument[] {
  const lineCounter = new LineCounter();
  const documents = YAML.parseAllDocuments(text, { ...parseOptions, lineCounter, prettyErrors: false });
  const result: YamlDocument[] = [];
  for (const document of documents) {
    const [error] = document.errors;
    if (error) {
      const { line, col } = lineCounter.linePos(error.pos[0]);
      throw new ManifestError(source, line, col, describeYamlError(document, error));
    }
    const start = lineCounter.linePos(document.contents?.range[0] ?? document.range[0]);
    keepKeysAsWritten(document);
    let value: unknown;
    try {
      value = document.toJS({ maxAliasCount, reviver: binaryAsText });
    } catch (error) {
      throw new ManifestError(source, start.line, start.col, (error as Error).message);
    }
    if (value !== null && value !== undefined) result.push({ value, line: start.line });
  }
  return result;
}

/**
 * Parses Kubernetes objects: every document must be a mapping with apiVersion, kind and metadata.name;
 * a `kind: *List` document with `items` contributes its items.
 */
export function parseManifests(text: string, source: string): KubeObject[] {
  const objects: KubeObject[] = [];
  for (const { value, line } of parseYamlDocuments(text, source)) {
    const items = isList(value) ? value.items : [value];
    for (const item of items) objects.push(requireObject(item, source, line));
  }
  return objects;
}

/** Multi-document YAML, keys sorted like kustomize's output, quoted wherever YAML 1.1 would retype a string. */
export function toYaml(objects: readonly unknown[]): string {
  return objects.map((object) => YAML.stringify(object, stringifyOptions)).join('---\n');
}

/** A scalar key as written when YAML 1.1 would make it a boolean (`yes`, `on`, `y`), else its value. */
function keyText(key: unknown): unknown {
  if (!isScalar(key)) return key;
  return typeof key.value === 'boolean' ? (key.source ?? String(key.value)) : key.value;
}

/** Mapping keys that YAML 1.1 reads as booleans become the words written, as kustomize keeps them. */
function keepKeysAsWritten(document: Document.Parsed): void {
  YAML.visit(document, {
    Pair(_, pair) {
      if (isScalar(pair.key) && typeof pair.key.value === 'boolean') {
        pair.key.value = pair.key.source ?? String(pair.key.value);
      }
    },
  });
}

export function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isList(value: unknown): value is { kind: string; items: unknown[] } {
  return (
    isMapping(value) &&
    typeof value.kind === 'string' &&
    value.kind.endsWith('List') &&
    Array.isArray(value.items)
  );
}

function requireObject(value: unknown, source: string, line: number): KubeObject {
  const metadata = isMapping(value) ? value.metadata : undefined;
  const valid =
    isMapping(value) &&
    nonEmptyString(value.apiVersion) &&
    nonEmptyString(value.kind) &&
    isMapping(metadata) &&
    nonEmptyString(metadata.name);
  if (!valid) {
    const shown = JSON.stringify(value);
    const excerpt = shown.length > 200 ? `${shown.slice(0, 200)}…` : shown;
    throw new ManifestError(
      source,
      line,
      1,
      `failed to decode Kubernetes apiVersion, kind and name from: ${excerpt}`,
    );
  }
  return value as KubeObject;
}

const nonEmptyString = (value: unknown): boolean => typeof value === 'string' && value !== '';

// Kubernetes decodes !!binary into the text of its bytes; the `yaml` package would give a Uint8Array.
function binaryAsText(_key: unknown, value: unknown): unknown {
  return value instanceof Uint8Array ? Buffer.from(value).toString('utf8') : value;
}

function describeYamlError(document: Document.Parsed, error: YAML.YAMLError): string {
  if (error.code !== 'DUPLICATE_KEY') return error.message;
  let key: unknown;
  YAML.visit(document, {
    Pair(_, pair) {
      const node = pair.key as ParsedNode | null;
      if (isPair(pair) && node?.range[0] === error.pos[0]) {
        key = isScalar(node) ? node.value : String(node);
        return YAML.visit.BREAK;
      }
      return undefined;
    },
  });
  return key === undefined ? 'duplicate key' : `duplicate key ${JSON.stringify(key)}`;
}
