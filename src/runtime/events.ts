// Kubernetes Events about our objects (core/v1, what `kubectl describe` and `flux events` read). An event
// repeated with the same type, reason and message bumps the existing Event's count instead of adding one. With
// an events address (Flux's --events-addr), each event is also posted there in Flux's event format, so Flux's
// notification-controller turns them into alerts and commit statuses as it does Flux's own.
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

/** Object annotations with this prefix travel with every event about it, as in Flux. */
const EVENT_ANNOTATION_PREFIX = 'event.toolkit.fluxcd.io/';

/** How often, and how patiently, an event is posted before it is given up (logged). */
const POST_ATTEMPTS = 4;
const POST_TIMEOUT_MS = 10_000;

/** An event as Flux's controllers post it to notification-controller (fluxcd/pkg/apis/event v1beta1). */
export interface FluxEvent {
  involvedObject: {
    apiVersion?: string;
    kind?: string;
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
  };
  severity: 'info' | 'error';
  timestamp: string;
  message: string;
  reason: string;
  metadata?: Record<string, string>;
  reportingController: string;
  reportingInstance: string;
}

export class EventRecorder {
  private readonly client: KubeClient;
  private readonly component: string;
  private readonly log: Logger;
  private readonly webhook: string | undefined;
  private readonly recent = new Map<string, Recorded>();

  constructor(
    client: KubeClient,
    component: string,
    log: Logger = silentLogger,
    options: { webhook?: string } = {},
  ) {
    this.client = client;
    this.component = component;
    this.log = log;
    this.webhook = options.webhook;
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
    for (const [key, value] of Object.entries(meta.annotations ?? {})) {
      if (key.startsWith(EVENT_ANNOTATION_PREFIX)) annotations = { ...annotations, [key]: value };
    }
    if (this.webhook) this.post(this.webhook, object, type, reason, text, annotations);
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
        involvedObject: referenceOf(object),
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

  /** Posts the event in Flux's format, retrying with backoff in the background; a reconcile never waits for it. */
  private post(
    webhook: string,
    object: KubeObjectHeader,
    type: EventType,
    reason: string,
    message: string,
    metadata: Record<string, string>,
  ): void {
    const event: FluxEvent = {
      involvedObject: referenceOf(object),
      severity: type === 'Warning' ? 'error' : 'info',
      timestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      message,
      reason,
      ...(Object.keys(metadata).length > 0 ? { metadata } : {}),
      reportingController: this.component,
      reportingInstance: hostname(),
    };
    void (async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          const response = await fetch(webhook, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(event),
            signal: AbortSignal.timeout(POST_TIMEOUT_MS),
          });
          if (response.ok) return;
          // A 4xx other than 429 will not get better by asking again.
          if (response.status < 500 && response.status !== 429) {
            this.log.error(
              { status: response.status, reason },
              `unable to record event: ${webhook} refused it`,
            );
            return;
          }
          throw new Error(`${webhook} answered ${response.status}`);
        } catch (error) {
          if (attempt >= POST_ATTEMPTS) {
            this.log.error({ error: errorMessage(error), reason }, 'unable to record event');
            return;
          }
          await new Promise((resolve) => setTimeout(resolve, 500 * 2 ** (attempt - 1)));
        }
      }
    })();
  }

  private remember(key: string, recorded: Recorded): void {
    if (this.recent.size >= 4096) this.recent.delete(this.recent.keys().next().value as string);
    this.recent.set(key, recorded);
  }
}

/** The object reference an event names (core/v1 ObjectReference's fields). */
function referenceOf(object: KubeObjectHeader): FluxEvent['involvedObject'] {
  const meta = object.metadata ?? {};
  return {
    apiVersion: object.apiVersion,
    kind: object.kind,
    name: meta.name,
    namespace: meta.namespace,
    uid: meta.uid,
    resourceVersion: meta.resourceVersion,
  };
}
