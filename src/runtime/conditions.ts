// Condition bookkeeping with Flux's rules: every write stamps observedGeneration; lastTransitionTime moves
// when status, reason or message change (second precision, UTC); messages are capped; conditions are kept
// in Flux's order; Reconciling and Stalled exclude each other.
import { truncateBytes } from './text.ts';
import type { Condition, ConditionType, Reason } from '../api/meta.ts';

export interface WithConditions {
  conditions?: Condition[];
}

const MAX_MESSAGE_BYTES = 32768;
const LEADING = ['Stalled', 'Reconciling', 'Ready'];

export const nowSeconds = (now: Date = new Date()): string => now.toISOString().replace(/\.\d+Z$/, 'Z');

function order(a: Condition, b: Condition): number {
  const rank = (c: Condition) => (LEADING.includes(c.type) ? LEADING.indexOf(c.type) : LEADING.length);
  return (
    rank(a) - rank(b) ||
    (b.observedGeneration ?? 0) - (a.observedGeneration ?? 0) ||
    a.type.localeCompare(b.type)
  );
}

export function getCondition(status: WithConditions | undefined, type: ConditionType): Condition | undefined {
  return status?.conditions?.find((c) => c.type === type);
}

export function isConditionTrue(status: WithConditions | undefined, type: ConditionType): boolean {
  return getCondition(status, type)?.status === 'True';
}

export function setCondition(
  status: WithConditions,
  generation: number | undefined,
  condition: Pick<Condition, 'type' | 'status' | 'reason' | 'message'>,
  now: Date = new Date(),
): void {
  const message = truncateBytes(condition.message, MAX_MESSAGE_BYTES);
  const previous = getCondition(status, condition.type);
  const unchanged =
    previous &&
    previous.status === condition.status &&
    previous.reason === condition.reason &&
    previous.message === message;
  const next: Condition = {
    type: condition.type,
    status: condition.status,
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    lastTransitionTime: unchanged ? previous.lastTransitionTime : nowSeconds(now),
    reason: condition.reason,
    message,
  };
  status.conditions = [...(status.conditions ?? []).filter((c) => c.type !== condition.type), next].sort(
    order,
  );
}

export function deleteCondition(status: WithConditions, type: ConditionType): void {
  if (status.conditions) status.conditions = status.conditions.filter((c) => c.type !== type);
}

export function markReconciling(
  status: WithConditions,
  generation: number | undefined,
  reason: Reason,
  message: string,
): void {
  deleteCondition(status, 'Stalled');
  setCondition(status, generation, { type: 'Reconciling', status: 'True', reason, message });
}

export function markStalled(
  status: WithConditions,
  generation: number | undefined,
  reason: Reason,
  message: string,
): void {
  deleteCondition(status, 'Reconciling');
  setCondition(status, generation, { type: 'Stalled', status: 'True', reason, message });
}
