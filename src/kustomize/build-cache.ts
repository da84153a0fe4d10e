// kustomize's output by what determines it: the artifact (by digest), the path in it, and the spec's overlay
// fields. Kustomizations that build the same directory, and every later pass over an unchanged revision, then
// run kustomize once, even when they start together (they wait for the build in flight). Kept as JSON text (a
// fraction of the parsed objects' memory, and quick to parse), up to a byte budget, the least recently used
// dropped first.
import { createHash } from 'node:crypto';
import type { KubeObject } from '../kube/client.ts';
import type { KustomizationSpec } from '../api/kustomization.ts';
import { overlayFields } from './generator.ts';

const defaultMaxBytes = 32 * 1024 * 1024;

export class BuildCache {
  readonly maxBytes: number;
  /** Map order is use order: the first entry is the least recently used. */
  private readonly entries = new Map<string, string>();
  private bytes = 0;
  private readonly inFlight = new Map<string, Promise<KubeObject[]>>();

  constructor(maxBytes = defaultMaxBytes) {
    this.maxBytes = maxBytes;
  }

  /** The cache key of a build of `spec` from the artifact with this digest. */
  static key(artifactDigest: string, spec: KustomizationSpec): string {
    const overlay = overlayFields.map((field) => spec[field] ?? null);
    return createHash('sha256')
      .update(JSON.stringify([artifactDigest, spec.path ?? '', overlay]))
      .digest('hex');
  }

  /** A fresh copy of the objects built for `key`, if kept or being built; undefined when neither. */
  get(key: string): Promise<KubeObject[]> | undefined {
    const text = this.entries.get(key);
    if (text !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, text);
      return Promise.resolve(JSON.parse(text) as KubeObject[]);
    }
    return this.inFlight.get(key)?.then((objects) => structuredClone(objects));
  }

  /** Whether a build for `key` is kept or in flight. */
  has(key: string): boolean {
    return this.entries.has(key) || this.inFlight.has(key);
  }

  /** Runs `build` for `key`, so that whoever asks for `key` meanwhile waits for it, and keeps what it built. */
  async build(key: string, build: () => Promise<KubeObject[]>): Promise<KubeObject[]> {
    const running = build();
    this.inFlight.set(key, running);
    try {
      const objects = await running;
      this.set(key, objects);
      return objects;
    } finally {
      if (this.inFlight.get(key) === running) this.inFlight.delete(key);
    }
  }

  set(key: string, objects: readonly KubeObject[]): void {
    const text = JSON.stringify(objects);
    // One build larger than a quarter of the budget would push out everything else for a single entry.
    if (text.length > this.maxBytes / 4) return;
    this.delete(key);
    this.entries.set(key, text);
    this.bytes += text.length;
    for (const [oldest] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.delete(oldest);
    }
  }

  get size(): number {
    return this.entries.size;
  }

  private delete(key: string): void {
    const text = this.entries.get(key);
    if (text === undefined) return;
    this.entries.delete(key);
    this.bytes -= text.length;
  }
}
