/**
 * The durable engine: a Redis stream per persistence key for the journal, a hash for its latest
 * snapshot. Streams rather than lists: entries are addressed by id (`<seq>-1`), so "everything
 * after seq" is one XRANGE and "drop what the snapshot covers" is one XTRIM MINID — no counting
 * against concurrent appends. The snapshot hash also keeps the journal's last stored seq (field
 * `last`), so an append never reads the stream. One pipeline per `persist` call, so throughput is
 * not one round trip per entry.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { OptionsError, type FieldProblem } from '../errors.ts';
import { unknownFields, type KnownFields } from '../known-fields.ts';
import type { JournalEntry, PersistenceEngine, Snapshot } from './engine.ts';
import { KEY_PREFIX, redisKeys, type RedisKeys } from './keys.ts';
import { APPEND, APPEND_PACKED, TAKE_SNAPSHOT, TAKE_SNAPSHOT_STORED } from './scripts.ts';

export interface RedisEngineOptions {
  /** A `redis://` or `rediss://` (TLS) URL; password and database may be in it. Default redis://127.0.0.1:6379. */
  readonly url?: string;
  /** Extra ioredis options (tls, password, username, connectTimeout, …). */
  readonly redis?: RedisOptions;
  /** Prefix of every key this engine writes. Default `triage`. */
  readonly prefix?: string;
  /** An existing connection to use instead of opening one (not closed by `close`). */
  readonly client?: Redis;
  /** Connection errors (ioredis reconnects by itself). Default: kept as `lastConnectionError`. */
  readonly onConnectionError?: (error: Error) => void;
}

const REDIS_ENGINE_FIELDS = { url: true, redis: true, prefix: true, client: true, onConnectionError: true } as const satisfies KnownFields<RedisEngineOptions>;

/**
 * Problems with a Redis given in options as a URL or as the engine's options (`fields` narrows
 * those a caller accepts), each named under `field`. The ioredis options in `redis` are ioredis's
 * to judge. Undefined is no problem: whether one is required is the caller's to say.
 */
export function redisOptionProblems(raw: unknown, field: string, fields: object = REDIS_ENGINE_FIELDS): FieldProblem[] {
  if (raw === undefined) return [];
  if (typeof raw === 'string') return urlProblems(raw, `${field}.url`);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return [{ field, problem: 'must be a redis:// URL or the Redis options' }];
  const problems = unknownFields(raw, fields, field, 'is not a Redis option');
  const { url, prefix, client } = raw as RedisEngineOptions;
  if (client === undefined && url !== undefined) problems.push(...urlProblems(url, `${field}.url`));
  if (prefix !== undefined && (typeof prefix !== 'string' || !KEY_PREFIX.test(prefix))) {
    problems.push({ field: `${field}.prefix`, problem: `must be letters, digits, . : _ -, got ${JSON.stringify(prefix)}` });
  }
  return problems;
}

type TriageRedis = Redis & {
  triageTakeSnapshot(snapshotKey: string, journalKey: string, seq: string, body: string): Promise<number>;
  triageAppend(journalKey: string, snapshotKey: string, ...seqAndBodies: Array<string | Buffer>): Promise<number>;
};
type TriagePipeline = ReturnType<Redis['pipeline']> & {
  triageAppend(journalKey: string, snapshotKey: string, ...seqAndBodies: Array<string | Buffer>): unknown;
  triageAppendPacked(journalKey: string, snapshotKey: string, firstSeq: string, bodies: string): unknown;
};

export class RedisEngine implements PersistenceEngine {
  readonly durable = true;
  readonly keys: RedisKeys;
  private readonly client: TriageRedis;
  private readonly ownsClient: boolean;
  /** The most recent connection error, for health checks. */
  lastConnectionError: Error | undefined;

  constructor(options: RedisEngineOptions = {}) {
    const problems = redisOptionProblems(options, 'redis');
    if (problems.length > 0) throw new OptionsError(problems);
    this.keys = redisKeys(options.prefix ?? 'triage');
    this.ownsClient = !options.client;
    // Fail fast instead of queueing while disconnected, and bound every command, so an outage or a
    // paused server surfaces as StoreUnavailableError rather than a submit that hangs.
    const client = options.client ?? new Redis(options.url ?? 'redis://127.0.0.1:6379', { enableOfflineQueue: false, commandTimeout: 5_000, maxRetriesPerRequest: 1, ...options.redis });
    client.on('error', (error: Error) => {
      this.lastConnectionError = error;
      options.onConnectionError?.(error);
    });
    client.defineCommand('triageTakeSnapshot', { numberOfKeys: 2, lua: TAKE_SNAPSHOT });
    client.defineCommand('triageAppend', { numberOfKeys: 2, lua: APPEND });
    client.defineCommand('triageAppendPacked', { numberOfKeys: 2, lua: APPEND_PACKED });
    this.client = client as TriageRedis;
  }

  connected(): boolean {
    return this.client.status === 'ready';
  }

  async connect(): Promise<void> {
    if (this.client.status === 'ready') return;
    // Not connecting (lazy, or given up after its retry strategy said stop): start an attempt.
    if (this.client.status === 'wait' || this.client.status === 'end') await this.client.connect();
    else await new Promise<void>((resolve, reject) => {
      const settle = (error?: unknown) => {
        this.client.off('ready', settle).off('error', settle).off('end', ended);
        if (error === undefined) resolve();
        else reject(error);
      };
      const ended = () => settle(new Error('the connection was closed'));
      this.client.once('ready', settle);
      this.client.once('error', settle);
      this.client.once('end', ended);
    });
  }

  get connection(): Redis {
    return this.client;
  }

  async persist(entries: readonly JournalEntry[]): Promise<void> {
    if (entries.length === 0) return;
    // One script call per key (a key's entries stay in one Redis Cluster slot), all in one pipeline.
    const pipeline = this.client.pipeline() as TriagePipeline;
    for (const run of packedRunsByKey(entries)) {
      const journal = this.keys.journal(run.key);
      const snapshot = this.keys.snapshot(run.key);
      if (run.consecutive) pipeline.triageAppendPacked(journal, snapshot, String(run.firstSeq), run.packed());
      else pipeline.triageAppend(journal, snapshot, ...run.pairs());
    }
    const results = (await pipeline.exec()) ?? [];
    const failed = results.find(([error]) => error);
    if (failed) throw failed[0];
  }

  async events(key: string, afterSeq: number): Promise<JournalEntry[]> {
    const rows = await this.client.xrange(this.keys.journal(key), `${afterSeq + 1}-0`, '+');
    return rows.map(([id, fields]) => ({ key, seq: Number(id.slice(0, id.indexOf('-'))), data: JSON.parse(fields[1] as string) as unknown }));
  }

  async latestSnapshot(key: string): Promise<Snapshot | undefined> {
    const [seq, body] = await this.client.hmget(this.keys.snapshot(key), 'seq', 'body');
    if (seq == null || body == null) return undefined;
    const { version, data } = JSON.parse(body) as { version: number; data: unknown };
    return { key, seq: Number(seq), version, data };
  }

  async takeSnapshot(snapshot: Snapshot): Promise<boolean> {
    const body = JSON.stringify({ version: snapshot.version, data: snapshot.data });
    const result = await this.client.triageTakeSnapshot(this.keys.snapshot(snapshot.key), this.keys.journal(snapshot.key), String(snapshot.seq), body);
    return result === TAKE_SNAPSHOT_STORED;
  }

  async close(): Promise<void> {
    if (this.ownsClient) await this.client.quit().catch(() => this.client.disconnect());
  }
}

/**
 * ioredis takes any string it cannot parse as a URL for a host name (`nope://x` connects to host
 * `nope`), so a mistyped URL would only show as a store that never answers.
 */
function urlProblems(url: unknown, field: string): FieldProblem[] {
  let protocol: string | undefined;
  try {
    protocol = typeof url === 'string' ? new URL(url).protocol : undefined;
  } catch {
    protocol = undefined;
  }
  return protocol === 'redis:' || protocol === 'rediss:' ? [] : [{ field, problem: 'must be a redis:// or rediss:// URL' }];
}

/**
 * One key's entries of a `persist` call, as its script takes them. Consecutive seqs (what the
 * journal writer always sends) go packed: every JSON body in one string argument, one per line
 * (JSON.stringify never writes a raw newline), so a key costs two arguments however many entries
 * it has, and no length list or byte count is worked out here. Every argument of a pipeline is then
 * a string, which ioredis writes as one string per pipeline, encoded once by the socket write
 * (a Buffer argument would be copied into the command, then into the pipeline's buffer). Anything
 * else goes as seq/body pairs.
 */
class PackedRun {
  readonly bodies: string[] = [];
  readonly seqs: number[] = [];
  consecutive = true;
  constructor(readonly key: string, readonly firstSeq: number) {}

  add(seq: number, body: string): void {
    if (seq !== this.firstSeq + this.seqs.length) this.consecutive = false;
    this.seqs.push(seq);
    this.bodies.push(body);
  }

  /** The bodies, one per line. */
  packed(): string {
    return this.bodies.join('\n');
  }

  pairs(): Array<string | Buffer> {
    const args: Array<string | Buffer> = [];
    for (let i = 0; i < this.seqs.length; i++) args.push(String(this.seqs[i]), Buffer.from(this.bodies[i] as string));
    return args;
  }
}

export function packedRunsByKey(entries: readonly JournalEntry[]): Iterable<PackedRun> {
  const byKey = new Map<string, PackedRun>();
  for (const entry of entries) {
    let run = byKey.get(entry.key);
    if (!run) byKey.set(entry.key, (run = new PackedRun(entry.key, entry.seq)));
    run.add(entry.seq, JSON.stringify(entry.data));
  }
  return byKey.values();
}

/**
 * Each key's entries as the append scripts take them: seq, JSON body, seq, JSON body, … Bodies go
 * as Buffers: ioredis writes a Buffer argument as it is, while string arguments are concatenated
 * into one rope per pipeline that the socket write then has to flatten and encode again.
 */
export function appendArgsByKey(entries: readonly JournalEntry[]): Map<string, Array<string | Buffer>> {
  const byKey = new Map<string, Array<string | Buffer>>();
  for (const entry of entries) {
    let args = byKey.get(entry.key);
    if (!args) byKey.set(entry.key, (args = []));
    args.push(String(entry.seq), Buffer.from(JSON.stringify(entry.data)));
  }
  return byKey;
}
