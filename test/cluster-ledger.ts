/**
 * A per-id ledger for the cluster fault tests: every acknowledged payload with the round and node
 * that submitted it, so that a payload that never started (or never ended) is named, with where it
 * was last seen in Redis — still in its partition's inbox, in its partition's journal or snapshot,
 * or nowhere — and every start the nodes recorded for it.
 */
import type { Redis } from 'ioredis';
import { partitionOfId } from '../src/core/ids.ts';

interface Entry {
  readonly round: string;
  readonly submitter: string;
}

export class PayloadLedger {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly redis: Redis, private readonly prefix: string, private readonly partitions: number) {}

  acknowledged(ids: readonly string[], round: string, submitter: string): void {
    for (const id of ids) this.entries.set(id, { round, submitter });
  }

  ids(): string[] {
    return [...this.entries.keys()];
  }

  /** The acknowledged ids with no recorded start. */
  async neverStarted(): Promise<string[]> {
    const started = new Set((await this.redis.lrange(`${this.prefix}:starts`, 0, -1)).map((line) => line.split(' ')[1]));
    return this.ids().filter((id) => !started.has(id));
  }

  /** One line per id: its partition, who acknowledged it when, where Redis still has it, and its recorded starts. */
  async explain(ids: readonly string[]): Promise<string> {
    const starts = await this.redis.lrange(`${this.prefix}:starts`, 0, -1);
    const lines = await Promise.all(ids.map(async (id) => {
      const entry = this.entries.get(id);
      const partition = partitionOfId(id, this.partitions);
      const where = partition === undefined ? ['no partition'] : await this.whereIs(id, partition);
      const ran = starts.filter((line) => line.split(' ')[1] === id).map((line) => line.split(' ').filter((_, i) => i !== 1).join(' '));
      return `${id} partition ${partition} acknowledged by ${entry?.submitter ?? '?'} in round ${entry?.round ?? '?'}; found in ${where.join(', ') || 'nothing'}; starts: ${ran.join(' | ') || 'none'}`;
    }));
    return lines.join('\n');
  }

  private async whereIs(id: string, partition: number): Promise<string[]> {
    const tag = `{partition-${partition}}`;
    const [inbox, journal, snapshot] = await Promise.all([
      this.redis.xrange(`${this.prefix}:c:inbox:${tag}`, '-', '+'),
      this.redis.xrange(`${this.prefix}:j:${tag}`, '-', '+'),
      this.redis.hget(`${this.prefix}:s:${tag}`, 'body'),
    ]);
    const found: string[] = [];
    const mentions = (entries: [string, string[]][]) => entries.filter(([, fields]) => fields.some((f) => f.includes(id))).map(([entryId]) => entryId);
    const inInbox = mentions(inbox);
    const inJournal = mentions(journal);
    if (inInbox.length > 0) found.push(`inbox entries ${inInbox.join(' ')}`);
    if (inJournal.length > 0) found.push(`journal entries ${inJournal.join(' ')}`);
    if (snapshot?.includes(id)) found.push('the snapshot');
    return found;
  }
}
