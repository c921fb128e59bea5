/**
 * One payload as the admin's payload page shows it: its view, what its record adds (tags, deadline,
 * dependencies' outcomes, the last checkpoint, a preview of its data), the workflow instance it is a
 * step of, and its timeline — accepted, due, each attempt with its duration and error, progress,
 * checkpoint, the end. Attempts that ended badly come from the metrics' attempt history; the last
 * attempt is the record's own start and end.
 */
import type { PayloadRecord } from '../../actors/partition/state.ts';
import type { AttemptEntry } from '../metrics/attempt-history.ts';
import type { PayloadView } from '../payload.ts';
import { preview, type PayloadDetail, type TimelineEntry } from './payload-views.ts';
import type { WorkflowInstanceDetail } from './sources.ts';

export interface DetailInput {
  readonly view: PayloadView;
  readonly record: PayloadRecord | undefined;
  readonly attempts: readonly AttemptEntry[];
  /** The instance named by the record's shard key, when it is a workflow's. */
  readonly workflow: WorkflowInstanceDetail | undefined;
  readonly now: number;
  /** Whether attempts are being recorded (metrics on) — else earlier attempts cannot be shown. */
  readonly recording: boolean;
}

export function payloadDetail({ view, record, attempts, workflow, now, recording }: DetailInput): PayloadDetail {
  const timeline: TimelineEntry[] = [{ at: view.submittedAt, kind: 'accepted', label: `accepted in tier ${view.tier}, partition ${view.partition}` }];
  const retriesDue = new Set(attempts.map((a) => a.retryAt).filter((at) => at !== undefined));
  if (view.runAt !== undefined && view.runAt > view.submittedAt && !retriesDue.has(view.runAt)) {
    // A retry sets runAt too: after an attempt it is the retry's moment, not the submitter's.
    const retry = attempts.some((a) => a.endedAt <= (view.runAt as number));
    timeline.push({ at: view.runAt, kind: 'due', label: retry ? 'retry due' : 'due to run' });
  }
  if (view.status === 'waiting') timeline.push({ at: view.submittedAt, kind: 'waiting', label: 'waiting for its dependencies' });
  for (const a of attempts) {
    if (a.kind === 'note') {
      timeline.push({ at: a.endedAt, kind: 'note', label: a.reason ?? a.outcome, ...(a.error ? { error: a.error } : {}) });
      continue;
    }
    timeline.push({
      at: a.startedAt ?? a.endedAt, kind: 'attempt', attempt: a.attempt, label: `attempt ${a.attempt} ${endWord(a.outcome)}`,
      ...(a.startedAt !== undefined ? { durationMs: a.endedAt - a.startedAt } : {}), ...(a.error ? { error: a.error } : {}),
    });
    if (a.retryAt !== undefined) timeline.push({ at: a.retryAt, kind: 'due', label: `retry due (attempt ${a.attempt + 1})` });
  }
  const lastRecorded = [...attempts].reverse().find((a) => a.kind === 'attempt');
  if (view.startedAt !== undefined && !(lastRecorded && lastRecorded.attempt === view.attempts)) {
    const running = view.status === 'running';
    const end = running ? now : view.finishedAt;
    timeline.push({
      at: view.startedAt, kind: running ? 'running' : 'attempt', attempt: view.attempts,
      label: `attempt ${view.attempts} ${running ? 'running' : view.status === 'completed' ? 'completed' : endWord(view.status)}`,
      ...(end !== undefined ? { durationMs: Math.max(0, end - view.startedAt) } : {}),
      // A completed record may still carry the error of an attempt before it.
      ...(view.error && !running && view.status !== 'completed' ? { error: view.error } : {}),
    });
  }
  if (view.progress !== undefined) timeline.push({ at: view.startedAt ?? now, kind: 'progress', label: 'progress (the latest reported)', detail: preview(view.progress) ?? '' });
  if (record?.checkpoint !== undefined) timeline.push({ at: view.startedAt ?? now, kind: 'checkpoint', label: 'checkpoint stored (the latest)', detail: preview(record.checkpoint) ?? '' });
  if (view.finishedAt !== undefined) {
    timeline.push({
      at: view.finishedAt, kind: 'ended', label: view.status,
      ...(view.status === 'completed' ? { detail: preview(view.result) ?? 'no result' } : {}),
      // The attempt that ended it shows the error already.
      ...(view.error && view.status !== 'completed' && !timeline.some((e) => e.error?.message === view.error?.message) ? { error: view.error } : {}),
    });
  }
  timeline.sort((a, b) => a.at - b.at); // stable: at the same instant, the order they were pushed in

  const notes: string[] = [];
  if (!record && view.status !== 'waiting') notes.push('this payload is held by a partition another node runs: its tags, checkpoint and earlier attempts are shown on that node\'s page');
  if (!recording) notes.push('earlier attempts are recorded while the admin endpoint or metrics are on; they were off');
  else if (view.attempts > 1 && attempts.filter((a) => a.kind === 'attempt').length < view.attempts - 1) notes.push('some earlier attempts happened before metrics were on, or were forgotten with older payloads');
  const step = workflow?.steps.find((s) => s.payloads.includes(view.id));
  return {
    payload: view,
    tags: record?.tags ?? [],
    deadline: record?.deadline,
    idempotencyKey: record?.idempotencyKey,
    concurrencyKey: record?.concurrencyKey,
    dependencies: Object.entries(record?.dependencies ?? {}).map(([id, outcome]) => ({ id, status: outcome.status })),
    checkpoint: preview(record?.checkpoint),
    data: record ? preview(record.data, 2_000) ?? null : undefined,
    workflow: workflow ? { id: workflow.id, workflow: workflow.workflow, status: workflow.status, step: step?.name } : null,
    timeline,
    notes,
  };
}

const endWord = (outcome: string) => (outcome === 'retrying' ? 'failed, retrying' : outcome);
