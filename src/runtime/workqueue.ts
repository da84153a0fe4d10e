// A work queue with client-go's semantics, because reconcilers depend on them: a key is queued at most once
// (dirty set), is never handed to two workers at once (processing set: a key added while it is processed is
// queued again when it is done), delayed adds keep the earliest time, and failures back off per key. Unlike
// client-go, handing a key to a worker cancels its pending delayed add: every pass schedules its own next one,
// so a stale timer would only run a redundant pass. No npm package offers these guarantees together.

export interface BackoffOptions {
  /** First retry delay after a failure; doubles per consecutive failure of the same key. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const defaultBackoff: BackoffOptions = { baseDelayMs: 750, maxDelayMs: 15 * 60_000 };

export interface QueueObserver {
  added?(key: string): void;
  started?(key: string, waitedMs: number): void;
  finished?(key: string, tookMs: number): void;
  retried?(key: string): void;
  depth?(depth: number): void;
}

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly addedAt = new Map<string, number>();
  private readonly startedAt = new Map<string, number>();
  private readonly delayed = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly failures = new Map<string, number>();
  private readonly waiters: ((key: string | undefined) => void)[] = [];
  private shuttingDown = false;
  private readonly backoff: BackoffOptions;
  private readonly observer: QueueObserver;

  constructor(backoff: BackoffOptions = defaultBackoff, observer: QueueObserver = {}) {
    this.backoff = backoff;
    this.observer = observer;
  }

  get length(): number {
    return this.queue.length;
  }

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    this.addedAt.set(key, Date.now());
    this.observer.added?.(key);
    if (this.processing.has(key)) return; // requeued by done()
    const waiter = this.waiters.shift();
    if (waiter) this.hand(key, waiter);
    else {
      this.queue.push(key);
      this.observer.depth?.(this.queue.length);
    }
  }

  /** Adds the key after `delayMs`; if it is already scheduled, the earlier time wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const at = Date.now() + delayMs;
    const existing = this.delayed.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.delayed.set(key, { at, timer });
  }

  /** Adds the key after its backoff delay, which doubles with each consecutive failure. */
  addRateLimited(key: string): number {
    const failures = this.failures.get(key) ?? 0;
    this.failures.set(key, failures + 1);
    const delay = Math.min(this.backoff.baseDelayMs * 2 ** failures, this.backoff.maxDelayMs);
    this.observer.retried?.(key);
    this.addAfter(key, delay);
    return delay;
  }

  /** Clears the key's failure count: the next failure starts from the base delay again. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /** Resolves with the next key to process, or undefined once the queue is shut down. */
  get(): Promise<string | undefined> {
    const key = this.queue.shift();
    if (key !== undefined) {
      this.observer.depth?.(this.queue.length);
      return Promise.resolve(this.take(key));
    }
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Marks the key's processing finished; a key added meanwhile is queued again now. */
  done(key: string): void {
    this.processing.delete(key);
    const started = this.startedAt.get(key);
    this.startedAt.delete(key);
    if (started !== undefined) this.observer.finished?.(key, Date.now() - started);
    if (this.dirty.has(key)) {
      const waiter = this.waiters.shift();
      if (waiter) this.hand(key, waiter);
      else {
        this.queue.push(key);
        this.observer.depth?.(this.queue.length);
      }
    }
  }

  shutDown(): void {
    this.shuttingDown = true;
    for (const { timer } of this.delayed.values()) clearTimeout(timer);
    this.delayed.clear();
    for (const waiter of this.waiters.splice(0)) waiter(undefined);
  }

  private hand(key: string, waiter: (key: string) => void): void {
    waiter(this.take(key));
  }

  private take(key: string): string {
    this.dirty.delete(key);
    const delayed = this.delayed.get(key);
    if (delayed) {
      clearTimeout(delayed.timer);
      this.delayed.delete(key);
    }
    this.processing.add(key);
    const now = Date.now();
    this.startedAt.set(key, now);
    this.observer.started?.(key, now - (this.addedAt.get(key) ?? now));
    this.addedAt.delete(key);
    return key;
  }
}
