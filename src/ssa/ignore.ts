// Drift-ignore rules (a Kustomization's spec.ignore), with Flux's semantics (fluxcd/pkg ssa, kustomize-controller
// v1.9): the JSON pointers of a rule whose target selects the object are left out of the drift comparison of the
// live object with the dry-run. When the object is applied anyway, an ignored field that differs is left out of
// the payload if another Apply manager owns it, otherwise its live value is sent (so a defaulted or required
// field is neither reset nor dropped). A new object is created as built, and the dry-run always sees the object
// as built. RFC 6901 pointers and Kubernetes label selectors are small grammars, written here.
import { isDeepStrictEqual } from 'node:util';
import type { IgnoreRule, Selector } from '../api/kustomization.ts';
import type { KubeObject } from '../kube/client.ts';
import { splitApiVersion } from '../kube/discovery.ts';
import { errorMessage } from '../errors.ts';
import { compilePattern } from '../regexp.ts';

/** The rules of a Kustomization, checked once: each pointer parsed, each selector compiled. */
export class IgnoreRules {
  private readonly rules: { paths: string[][]; matches: (object: KubeObject) => boolean }[];

  constructor(rules: IgnoreRule[] = []) {
    this.rules = rules.map((rule, i) => ({
      paths: rule.paths.map((pointer, j) => parsePointer(pointer, `spec.ignore[${i}].paths[${j}]`)),
      matches: selectorMatcher(rule.target, `spec.ignore[${i}].target`),
    }));
  }

  get empty(): boolean {
    return this.rules.length === 0;
  }

  /** The parsed pointers that apply to `object`. */
  pathsFor(object: KubeObject): string[][] {
    return this.rules.filter((rule) => rule.matches(object)).flatMap((rule) => rule.paths);
  }
}

/** `object` without the fields at `paths` (a copy; absent fields are no error). */
export function withoutPaths(object: KubeObject, paths: string[][]): KubeObject {
  if (paths.length === 0) return object;
  const copy = structuredClone(object);
  for (const path of paths) removeAt(copy, path);
  return copy;
}

/**
 * What to send when an existing object is applied with ignored `paths`: each ignored field whose live value
 * differs from the dry-run's is left out when another Apply manager than `fieldManager` owns it, and otherwise
 * takes the live value; a field the live object lacks is sent as built.
 */
export function applyPayload(
  desired: KubeObject,
  live: KubeObject,
  dryRun: KubeObject,
  paths: string[][],
  fieldManager: string,
): KubeObject {
  const payload = structuredClone(desired);
  for (const path of paths) {
    const [liveHas, liveValue] = lookup(live, path);
    const [dryHas, dryValue] = lookup(dryRun, path);
    if (liveHas === dryHas && isDeepStrictEqual(liveValue, dryValue)) continue;
    if (ownedByOtherApplyManager(live, path, fieldManager)) removeAt(payload, path);
    else if (liveHas) setAt(payload, path, structuredClone(liveValue));
  }
  return payload;
}

/** An RFC 6901 pointer as its reference tokens; "" is the whole document. */
function parsePointer(pointer: string, field: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) {
    throw new Error(
      `${field}: '${pointer}' is not a JSON pointer: it must start with '/' (e.g. /spec/replicas)`,
    );
  }
  return pointer
    .slice(1)
    .split('/')
    .map((token) => token.replaceAll('~1', '/').replaceAll('~0', '~'));
}

function lookup(value: unknown, path: string[]): [boolean, unknown] {
  let at = value;
  for (const token of path) {
    const next = child(at, token);
    if (!next) return [false, undefined];
    at = next.value;
  }
  return [true, at];
}

function child(container: unknown, token: string): { value: unknown } | undefined {
  if (Array.isArray(container)) {
    const index = arrayIndex(container, token);
    return index === undefined ? undefined : { value: container[index] };
  }
  if (typeof container === 'object' && container !== null && Object.hasOwn(container, token)) {
    return { value: (container as Record<string, unknown>)[token] };
  }
  return undefined;
}

/** A token as an index of `list` (negative counts from the end, as Flux's patcher allows), if it is one. */
function arrayIndex(list: unknown[], token: string): number | undefined {
  if (!/^-?\d+$/.test(token)) return undefined;
  const index = Number(token) < 0 ? list.length + Number(token) : Number(token);
  return index >= 0 && index < list.length ? index : undefined;
}

function removeAt(root: unknown, path: string[]): void {
  const parent = path.length > 0 ? lookup(root, path.slice(0, -1)) : [false, undefined];
  if (!parent[0]) return;
  const container = parent[1];
  const token = path[path.length - 1] ?? '';
  if (Array.isArray(container)) {
    const index = arrayIndex(container, token);
    if (index !== undefined) container.splice(index, 1);
  } else if (typeof container === 'object' && container !== null) {
    Reflect.deleteProperty(container, token);
  }
}

function setAt(root: unknown, path: string[], value: unknown): void {
  let at = root;
  for (const [i, token] of path.entries()) {
    const last = i === path.length - 1;
    if (Array.isArray(at)) {
      const index = arrayIndex(at, token);
      if (index === undefined) return;
      if (last) at[index] = value;
      else at = at[index];
    } else if (typeof at === 'object' && at !== null) {
      const record = at as Record<string, unknown>;
      if (last) record[token] = value;
      else at = record[token] ??= {};
    } else {
      return;
    }
  }
}

interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  fieldsV1?: Record<string, unknown>;
}

/** Whether an Apply manager other than `fieldManager` owns the field at `path` of `live` (its managedFields). */
function ownedByOtherApplyManager(live: KubeObject, path: string[], fieldManager: string): boolean {
  const entries = (live.metadata?.['managedFields'] ?? []) as ManagedFieldsEntry[];
  return entries.some(
    (entry) =>
      entry.operation === 'Apply' && entry.manager !== fieldManager && ownsPath(entry.fieldsV1, live, path),
  );
}

/** Walks a fieldsV1 set (`f:name` keys, list items as `k:{…}`, `v:…` or `i:N`) along `path` of `live`. */
function ownsPath(fields: Record<string, unknown> | undefined, live: unknown, path: string[]): boolean {
  let set = fields;
  let at = live;
  for (const token of path) {
    if (!set) return false;
    if (Array.isArray(at)) {
      const index = arrayIndex(at, token);
      if (index === undefined) return false;
      const element: unknown = at[index];
      set = Object.entries(set).find(([key]) => listKeyMatches(key, element, index))?.[1] as
        Record<string, unknown> | undefined;
      at = element;
    } else {
      set = set[`f:${token}`] as Record<string, unknown> | undefined;
      at = child(at, token)?.value;
    }
  }
  return set !== undefined;
}

function listKeyMatches(key: string, element: unknown, index: number): boolean {
  if (key === `i:${index}`) return true;
  try {
    if (key.startsWith('v:')) return isDeepStrictEqual(JSON.parse(key.slice(2)), element);
    if (key.startsWith('k:') && typeof element === 'object' && element !== null) {
      const fields = JSON.parse(key.slice(2)) as Record<string, unknown>;
      return Object.entries(fields).every(([k, v]) =>
        isDeepStrictEqual((element as Record<string, unknown>)[k], v),
      );
    }
  } catch {
    return false;
  }
  return false;
}

/** Flux's selector: group, version, kind, name, namespace as anchored regular expressions, and two selectors. */
function selectorMatcher(target: Selector | undefined, field: string): (object: KubeObject) => boolean {
  if (!target) return () => true;
  const pattern = (value: string | undefined, name: string) => {
    if (!value) return () => true;
    try {
      const regex = compilePattern(`^(?:${value})$`);
      return (text: string) => regex.test(text);
    } catch (error) {
      throw new Error(`${field}.${name}: '${value}' is not a regular expression: ${errorMessage(error)}`, {
        cause: error,
      });
    }
  };
  const group = pattern(target.group, 'group');
  const version = pattern(target.version, 'version');
  const kind = pattern(target.kind, 'kind');
  const name = pattern(target.name, 'name');
  const namespace = pattern(target.namespace, 'namespace');
  const labels = labelSelector(target.labelSelector, `${field}.labelSelector`);
  const annotations = labelSelector(target.annotationSelector, `${field}.annotationSelector`);
  return (object) => {
    const gv = splitApiVersion(object.apiVersion ?? '');
    return (
      group(gv.group) &&
      version(gv.version) &&
      kind(object.kind ?? '') &&
      name(object.metadata?.name ?? '') &&
      namespace(object.metadata?.namespace ?? '') &&
      labels(object.metadata?.labels ?? {}) &&
      annotations(object.metadata?.annotations ?? {})
    );
  };
}

/** A Kubernetes label selector (`a=b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`, comma-separated). */
function labelSelector(text: string | undefined, field: string): (labels: Record<string, string>) => boolean {
  if (!text?.trim()) return () => true;
  const requirements = splitRequirements(text).map((part) => {
    const set = /^([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(part);
    if (set) {
      const [, key = '', op, list = ''] = set;
      const values = new Set(list.split(',').map((v) => v.trim()));
      return (labels: Record<string, string>) =>
        op === 'in'
          ? key in labels && values.has(labels[key] ?? '')
          : !(key in labels && values.has(labels[key] ?? ''));
    }
    const equality = /^([^\s!=]+)\s*(==|=|!=)\s*([^\s,]*)$/.exec(part);
    if (equality) {
      const [, key = '', op, value = ''] = equality;
      return (labels: Record<string, string>) =>
        op === '!=' ? labels[key] !== value : labels[key] === value;
    }
    const exists = /^(!?)([^\s!=()]+)$/.exec(part);
    if (exists) {
      const [, not, key = ''] = exists;
      return (labels: Record<string, string>) => key in labels !== (not === '!');
    }
    throw new Error(
      `${field}: '${part}' is not a label selector requirement (e.g. app=web, tier in (a,b), !legacy)`,
    );
  });
  return (labels) => requirements.every((matches) => matches(labels));
}

/** Splits at the commas that are not inside a parenthesised value list. */
function splitRequirements(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of text) {
    if (char === '(') depth += 1;
    if (char === ')') depth -= 1;
    if (char === ',' && depth === 0) {
      parts.push(current.trim());
      current = '';
    } else {
      current += char;
    }
  }
  parts.push(current.trim());
  return parts.filter(Boolean);
}
