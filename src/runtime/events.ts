// Kubernetes Events about our objects (core/v1, what `kubectl describe` and `flux events` read). An event
// repeated with the same type, reason and message bumps the existing Event's count instead of adding one.
import { hostname } from 'node:os';
import type { KubeClient, KubeObjectHeader } from '../kube/client.ts';
import { ContentType } from '../kube/client.ts';
import { isNotFound } from '../kube/errors.ts';
import { silentLogger, type Logger } from './logger.ts';
import { truncateBytes } from './text.ts';
import { errorMessage } from '../errors.ts';

export type EventType = 'Normal' | 'Warning';

// The same cap as condition messages: long enough for the API server's own error text, which puts the
// actionable part ("field is immutable") after a dump of the object.
const MAX_MESSAGE_BYTES = 32768;

let sequence = 0;

interface Recorded {
  name: string;
  namespace: string;
  count: number;
  firstTimestamp: string;
}

export class EventRecorder {
  private readonly client: KubeClient;
  private readonly component: string;
  private readonly log: Logger;
  private readonly recent = new Map<string, Recorded>();

  constructor(client: KubeClient, component: string, log: Logger = silentLogger) {
    this.client = client;
    this.component = component;
    this.log = log;
  }

  /** Records an event; failures are logged, never thrown: an event must not fail a reconcile. */
  async record(
    object: KubeObjectHeader,
    type: EventType,
    reason: string,
    message: string,
    annotations: Record<string, string> = {},
  ): Promise<void> {
    const meta = object.metadata ?? {};
    const namespace = meta.namespace || 'default';
    const text = truncateBytes(message, MAX_MESSAGE_BYTES);
    const key = [meta.uid, type, reason, text].join('\u0000');
    const now = new Date().toISOString();
    try {
      const seen = this.recent.get(key);
      if (seen) {
        seen.count++;
        try {
          await this.client.patch(
            `/api/v1/namespaces/${seen.namespace}/events/${seen.name}`,
            { count: seen.count, lastTimestamp: now, metadata: { annotations } },
            ContentType.mergePatch,
          );
          return;
        } catch (error) {
          if (!isNotFound(error)) throw error;
          this.recent.delete(key); // expired by the server's event TTL: create a new one
        }
      }
      // Like client-go: the object's name and a nanosecond timestamp in hex (a counter keeps them unique).
      const name = `${meta.name}.${(BigInt(Date.now()) * 1_000_000n + BigInt(sequence++ % 1_000_000)).toString(16)}`;
      await this.client.create(`/api/v1/namespaces/${namespace}/events`, {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name, namespace, annotations },
        involvedObject: {
          apiVersion: object.apiVersion,
          kind: object.kind,
          name: meta.name,
          namespace: meta.namespace,
          uid: meta.uid,
          resourceVersion: meta.resourceVersion,
        },
        type,
        reason,
        message: text,
        source: { component: this.component },
        reportingComponent: this.component,
        reportingInstance: hostname(),
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      });
      this.remember(key, { name, namespace, count: 1, firstTimestamp: now });
    } catch (error) {
      this.log.warn({ error: errorMessage(error), reason }, 'failed to record event');
    }
  }

  private remember(key: string, recorded: Recorded): void {
    if (this.recent.size >= 4096) this.recent.delete(this.recent.keys().next().value as string);
    this.recent.set(key, recorded);
  }
}
