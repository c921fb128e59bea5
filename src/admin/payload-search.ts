/**
 * Finding payloads over what the runtime keeps: one id; the dead letters (status failed, newest
 * first, paged by the store's cursor); or the records this process's partitions hold — queued,
 * running, delayed, and the ended ones `retainTerminal` keeps — in arrival order per partition.
 * A page scans at most SCAN_BUDGET records, so a million queued payloads cost a search a bounded
 * turn; its cursor (`r<partition>-<seq>`) is the record the next page starts at.
 */
import type { PayloadRecord } from '../../actors/partition/state.ts';
import type { PayloadView } from '../payload.ts';
import type { PayloadInspector, PayloadPage, PayloadRow, PayloadSearch } from './payload-views.ts';
import type { FailedView } from './sources.ts';

export const SCAN_BUDGET = 50_000;
export const RECORD_CURSOR = /^r(\d{1,6})-(\d{1,15})$/;

export interface SearchDeps {
  readonly inspector: PayloadInspector;
  get(id: string): Promise<PayloadView | undefined>;
  failed(query: { type?: string; clientId?: string; limit: number; cursor?: string }): Promise<FailedView>;
}

export async function searchPayloads(query: PayloadSearch, deps: SearchDeps): Promise<PayloadPage> {
  if (query.id !== undefined) {
    const view = await deps.get(query.id);
    const record = deps.inspector.record(query.id);
    const row = view && rowOfView(view, record?.tags ?? []);
    return { source: 'id', items: row && matches(row, query) ? [row] : [], next: null };
  }
  if (query.status === 'failed' && query.tag === undefined && (query.cursor === undefined || !RECORD_CURSOR.test(query.cursor))) {
    const page = await deps.failed(withoutUnset({ type: query.type, clientId: query.clientId, limit: query.limit, cursor: query.cursor }));
    return {
      source: 'dead-letters',
      total: page.total,
      next: page.next,
      items: page.items.map((d) => ({
        id: d.id, type: d.type, clientId: d.clientId, partition: d.partition, status: 'failed', tier: undefined, attempts: d.attempts,
        submittedAt: undefined, finishedAt: d.failedAt, error: d.error as PayloadRow['error'], tags: [],
      })),
    };
  }
  return scanRecords(query, deps.inspector);
}

function scanRecords(query: PayloadSearch, inspector: PayloadInspector): PayloadPage {
  const partitions = [...inspector.partitions()].sort((a, b) => a.index - b.index);
  const at = query.cursor === undefined ? undefined : RECORD_CURSOR.exec(query.cursor);
  const fromPartition = at ? Number(at[1]) : -1;
  const fromSeq = at ? Number(at[2]) : 0;
  const items: PayloadRow[] = [];
  let scanned = 0;
  for (const state of partitions) {
    if (state.index < fromPartition) continue;
    for (const record of state.records.values()) {
      if (state.index === fromPartition && record.seq < fromSeq) continue;
      if (scanned >= SCAN_BUDGET || items.length >= query.limit) {
        return { source: 'retained', items, next: `r${state.index}-${record.seq}`, scanned };
      }
      scanned++;
      if (recordMatches(record, query)) items.push(rowOfRecord(record));
    }
  }
  return { source: 'retained', items, next: null, scanned };
}

function recordMatches(r: PayloadRecord, q: PayloadSearch): boolean {
  return (q.type === undefined || r.type === q.type) && (q.clientId === undefined || r.clientId === q.clientId) &&
    (q.status === undefined || r.status === q.status) && (q.tag === undefined || (r.tags?.includes(q.tag) ?? false));
}

function matches(row: PayloadRow, q: PayloadSearch): boolean {
  return (q.type === undefined || row.type === q.type) && (q.clientId === undefined || row.clientId === q.clientId) &&
    (q.status === undefined || row.status === q.status) && (q.tag === undefined || row.tags.includes(q.tag));
}

function rowOfRecord(r: PayloadRecord): PayloadRow {
  return {
    id: r.id, type: r.type, clientId: r.clientId, partition: partitionOfId(r.id), status: r.status, tier: r.tier, attempts: r.attempt,
    submittedAt: r.submittedAt, finishedAt: r.finishedAt, error: r.error, tags: r.tags ?? [],
  };
}

function rowOfView(v: PayloadView, tags: readonly string[]): PayloadRow {
  return {
    id: v.id, type: v.type, clientId: v.clientId, partition: v.partition, status: v.status, tier: v.tier, attempts: v.attempts,
    submittedAt: v.submittedAt, finishedAt: v.finishedAt, error: v.error, tags,
  };
}

/** Ids end with `.<partition in base 36>`. */
function partitionOfId(id: string): number {
  return parseInt(id.slice(id.lastIndexOf('.') + 1), 36);
}

function withoutUnset<T extends object>(query: T): T {
  return Object.fromEntries(Object.entries(query).filter(([, v]) => v !== undefined)) as T;
}
