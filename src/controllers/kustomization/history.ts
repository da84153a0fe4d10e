// status.history: the last five distinct outcomes, most recent first. One entry per (manifest digest,
// outcome); a repeat bumps its counter and timestamps instead of adding an entry.
import type { Snapshot } from '../../api/kustomization.ts';
import { formatDuration } from '../../api/duration.ts';
import { nowSeconds } from '../../runtime/conditions.ts';

const MAX_SNAPSHOTS = 5;

export function upsertHistory(
  history: Snapshot[] | undefined,
  outcome: { digest: string; status: string; revision: string; durationMs: number; now?: Date },
): Snapshot[] {
  const now = nowSeconds(outcome.now);
  const previous = (history ?? []).find(
    (s) => s.digest === outcome.digest && s.lastReconciledStatus === outcome.status,
  );
  const snapshot: Snapshot = {
    digest: outcome.digest,
    firstReconciled: previous?.firstReconciled ?? now,
    lastReconciled: now,
    lastReconciledDuration: formatDuration(outcome.durationMs),
    lastReconciledStatus: outcome.status,
    totalReconciliations: (previous?.totalReconciliations ?? 0) + 1,
    metadata: { revision: outcome.revision },
  };
  return [snapshot, ...(history ?? []).filter((s) => s !== previous)].slice(0, MAX_SNAPSHOTS);
}
