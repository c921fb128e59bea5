/**
 * What the admin shows of single payloads: a row of a search or of the Failed panel, a payload's
 * detail with its timeline, and the narrow view of the runtime's own records these are read from.
 */
import type { PartitionState, PayloadRecord } from '../../actors/partition/state.ts';
import type { PayloadFailure } from '../errors.ts';
import type { RunOrder } from '../execution/protocol.ts';
import type { AttemptEntry } from '../metrics/attempt-history.ts';
import type { PayloadStatus, PayloadView, Tier } from '../payload.ts';

/** Read-only access to what this process's partitions hold, given by the runtime. */
export interface PayloadInspector {
  /** The record of a payload of a partition running here; undefined otherwise. */
  record(id: string): PayloadRecord | undefined;
  /** The partitions running here. */
  partitions(): readonly PartitionState[];
  /** Attempts of the payload that ended badly (kept while metrics are on, bounded like retention). */
  attempts(id: string): readonly AttemptEntry[];
  /** Whether bad attempts are being recorded (metrics are on). */
  recording(): boolean;
  /** The attempts whose handlers run now: the pool's own list, the one its busy count is of. */
  running(): ReadonlyArray<{ readonly order: RunOrder; readonly startedAt: number }>;
}

export interface PayloadRow {
  readonly id: string;
  readonly type: string;
  readonly clientId: string;
  readonly partition: number;
  readonly status: PayloadStatus;
  readonly tier: Tier | undefined;
  readonly attempts: number;
  readonly submittedAt: number | undefined;
  /** When it ended (for a dead letter: when it failed for good). */
  readonly finishedAt: number | undefined;
  readonly error: PayloadFailure | undefined;
  readonly tags: readonly string[];
}

export const SEARCH_STATUSES: readonly PayloadStatus[] = ['delayed', 'queued', 'running', 'deferred', 'completed', 'failed', 'cancelled', 'skipped', 'expired'];

export interface PayloadSearch {
  readonly id?: string | undefined;
  readonly type?: string | undefined;
  readonly clientId?: string | undefined;
  readonly status?: PayloadStatus | undefined;
  readonly tag?: string | undefined;
  readonly limit: number;
  readonly cursor?: string | undefined;
}

export interface PayloadPage {
  /** Where the rows come from: the dead-letter store (status failed), the records retained here, or one id. */
  readonly source: 'dead-letters' | 'retained' | 'id';
  readonly items: readonly PayloadRow[];
  /** The cursor of the next page; null on the last. */
  readonly next: string | null;
  /** Dead letters: how many there are. Retained records are not counted ahead (that is a full scan). */
  readonly total?: number;
  /** Retained records looked at for this page. */
  readonly scanned?: number;
}

export type TimelineKind = 'accepted' | 'due' | 'waiting' | 'attempt' | 'note' | 'running' | 'progress' | 'checkpoint' | 'ended';

export interface TimelineEntry {
  readonly at: number;
  readonly kind: TimelineKind;
  readonly label: string;
  readonly attempt?: number;
  readonly durationMs?: number;
  readonly error?: PayloadFailure;
  /** A short text of a value (progress, checkpoint, result): JSON cut at 300 characters. */
  readonly detail?: string;
}

export interface PayloadDetail {
  readonly payload: PayloadView;
  readonly tags: readonly string[];
  readonly deadline: number | undefined;
  readonly idempotencyKey: string | undefined;
  /** What per-key limits count it under. */
  readonly concurrencyKey: string | undefined;
  /** How each dependency ended, once the payload was released; empty without `dependsOn`. */
  readonly dependencies: ReadonlyArray<{ readonly id: string; readonly status: string }>;
  readonly checkpoint: string | undefined;
  /** A preview of its data; null: it has none; undefined: the record is held by another node. */
  readonly data: string | null | undefined;
  /** The workflow instance and step it belongs to, if it is a workflow step's payload. */
  readonly workflow: { readonly id: string; readonly workflow: string; readonly status: string; readonly step: string | undefined } | null;
  readonly timeline: readonly TimelineEntry[];
  /** What the timeline cannot show, said plainly (a record held by another node, attempts before metrics were on). */
  readonly notes: readonly string[];
}

/** JSON of a value, cut for display; undefined for undefined. */
export function preview(value: unknown, max = 300): string | undefined {
  if (value === undefined) return undefined;
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
