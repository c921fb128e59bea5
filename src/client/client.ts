/**
 * A producer-only client of a cluster: it submits, looks up, waits for and cancels payloads and
 * workflow instances on a cluster of nodes sharing one Redis, and holds no partition and runs
 * nothing itself. It goes through the cluster's own machinery: a submit is appended to its
 * partition's inbox (acknowledged when Redis has it, as a node's submit for a partition served
 * elsewhere), a lookup or cancel is a call to the partition's owner through the owners' mail, and
 * `waitFor` and listeners hear the ending events every node publishes.
 *
 * Validation is the runtime's own (src/validation.ts), with one difference said up front: the
 * client does not know which handler types the nodes register, so it accepts any type; a payload
 * of a type no node handles waits in its queue. Payloads with `dependsOn` need a dependency graph,
 * which lives on a node: submit those on a node.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { partitionOf } from '../core/hash.ts';
import { IdGenerator, partitionOfId, uniqueOfKey, withPartition } from '../core/ids.ts';
import { ClusterBus } from '../cluster/bus.ts';
import { InboxWriter } from '../cluster/inbox.ts';
import { clusterKeys, type ClusterKeys } from '../cluster/keys.ts';
import { partitionLeases, type Leases } from '../cluster/leases.ts';
import { dedupedIds } from '../cluster/dedupe-answers.ts';
import { RemoteCalls, type CallMail } from '../cluster/remote-calls.ts';
import { readShape } from '../cluster/shape.ts';
import { OptionsError, RuntimeStoppedError, TriageError, ValidationError, type FieldProblem } from '../errors.ts';
import { EventHub, type Listener, type PayloadEvent } from '../events.ts';
import type { Payload, PayloadInput, PayloadView } from '../payload.ts';
import { RedisEngine, redisOptionProblems, type RedisEngineOptions } from '../persistence/redis.ts';
import { unknownFields, type KnownFields } from '../known-fields.ts';
import { Waiters } from '../runtime/waiters.ts';
import { validateBatch, validatePayload, type ValidationContext, type ValidPayload } from '../validation.ts';
import { ClientWorkflows } from './workflows.ts';

export interface CreateClientOptions {
  /** The cluster's Redis: a URL or the engine's options (`url`, `prefix`, `redis` for TLS, password, …). Required. */
  readonly redis: string | Pick<RedisEngineOptions, 'url' | 'prefix' | 'redis'>;
  /** Longest a lookup or cancel waits for the owner of a payload's partition to answer. Default 10,000 ms. */
  readonly callTimeoutMs?: number;
  /** Largest accepted `data` with its `tags`, in bytes of their JSON form. Default 1 MiB, as the runtime's. */
  readonly maxDataBytes?: number;
}

/** The events a client hears: the ending events, which every node publishes for every payload. */
export const CLIENT_EVENTS = ['completed', 'failed', 'cancelled', 'skipped', 'expired'] as const;
export type ClientEventType = (typeof CLIENT_EVENTS)[number];

export interface ClientListeners {
  /** Subscribes to one ending type, or `*` for every ending. Returns the unsubscribe function. */
  on(type: ClientEventType | '*', listener: Listener): () => void;
}

const CLIENT_FIELDS = { redis: true, callTimeoutMs: true, maxDataBytes: true } as const satisfies KnownFields<CreateClientOptions>;
const CLIENT_REDIS_FIELDS = { url: true, prefix: true, redis: true } as const satisfies KnownFields<Exclude<CreateClientOptions['redis'], string>>;
const DEFAULT_MAX_DATA_BYTES = 1_048_576;

/** Connects to the cluster's Redis and reads its shape; rejects with `CLUSTER_NOT_STARTED` when no node ever started there. */
export async function createClient(options: CreateClientOptions): Promise<TriageClient> {
  const client = new TriageClient(options);
  try {
    await client.connect();
  } catch (error) {
    await client.close();
    throw error;
  }
  return client;
}

export class TriageClient {
  /** This client's name on the bus: its answers come to the mail stream of this id. */
  readonly id = `client-${randomBytes(6).toString('hex')}`;
  /** Workflow instances: started on a live node, found and cancelled wherever they run. */
  readonly workflows: ClientWorkflows;
  /** Ending events of every payload of the cluster. */
  readonly events: ClientListeners;
  private readonly engine: RedisEngine;
  private readonly keys: ClusterKeys;
  private readonly maxDataBytes: number;
  private readonly hub = new EventHub();
  private readonly waiters = new Waiters();
  private readonly ids = new IdGenerator();
  private readonly calls: RemoteCalls;
  private bus: ClusterBus | undefined;
  private writer: InboxWriter | undefined;
  private leases: Leases<number> | undefined;
  private partitionCount = 0;
  private closed = false;

  constructor(options: CreateClientOptions) {
    if (typeof options !== 'object' || options === null || Array.isArray(options)) throw new OptionsError([{ field: 'options', problem: 'must be an object' }]);
    const problems: FieldProblem[] = unknownFields(options, CLIENT_FIELDS, '', 'is not a client option');
    const redis = options.redis;
    if (typeof redis !== 'string' && (typeof redis !== 'object' || redis === null)) problems.push({ field: 'redis', problem: 'is required: a URL or { url, prefix }' });
    else problems.push(...redisOptionProblems(redis, 'redis', CLIENT_REDIS_FIELDS));
    for (const field of ['callTimeoutMs', 'maxDataBytes'] as const) {
      const value = options[field];
      if (value !== undefined && !(typeof value === 'number' && Number.isFinite(value) && value >= 50)) problems.push({ field, problem: 'must be a number ≥ 50' });
    }
    if (problems.length > 0) throw new OptionsError(problems);
    const engineOptions = typeof redis === 'string' ? { url: redis } : redis;
    this.engine = new RedisEngine(engineOptions);
    this.keys = clusterKeys(engineOptions.prefix ?? 'triage');
    this.maxDataBytes = options.maxDataBytes ?? DEFAULT_MAX_DATA_BYTES;
    this.calls = new RemoteCalls({
      from: this.id,
      bus: () => this.bus,
      holder: (partition) => (this.leases ? this.leases.holder(partition).then((h) => h?.node) : Promise.resolve(undefined)),
      callTimeoutMs: options.callTimeoutMs ?? 10_000,
    });
    this.events = { on: (type, listener) => this.hub.on(checkType(type), listener) };
    this.workflows = new ClientWorkflows({ calls: this.calls, keys: this.keys, client: () => this.connection, stopped: () => this.closed });
  }

  /** The cluster's partition count, as its first node recorded it. */
  get partitions(): number {
    return this.partitionCount;
  }

  /** Types are not checked here (see the module comment): always true. */
  readonly checksTypes = false;

  /** @internal Connects; called by createClient. */
  async connect(): Promise<void> {
    await this.engine.connect();
    const client = this.connection;
    const shape = await readShape(client, this.keys);
    if (!shape) throw new TriageError('CLUSTER_NOT_STARTED', `no cluster node has started under prefix ${this.keys.prefix} on this Redis`);
    this.partitionCount = shape.partitions;
    this.leases = partitionLeases(client, this.keys);
    this.writer = new InboxWriter(client, this.keys);
    this.bus = new ClusterBus({
      client,
      keys: this.keys,
      nodeId: this.id,
      onMail: (mail) => {
        if ((mail as CallMail).k === 'answer') this.calls.answered(mail as Extract<CallMail, { k: 'answer' }>);
      },
      onEvents: (events) => {
        for (const event of events as PayloadEvent[]) {
          if (this.waiters.size > 0) this.waiters.end(event.id, { status: event.type, result: event.result, error: event.error, reason: event.reason });
          this.hub.emit(event);
        }
      },
    });
    await this.bus.start();
  }

  /** Validates and submits one payload; resolves with its id once Redis has it in its partition's inbox. */
  async submit(input: PayloadInput): Promise<string> {
    this.refuseIfClosed();
    const [id] = await this.send([validatePayload(input, this.validation())]);
    return id!;
  }

  /** Validates every payload first (all problems at once, nothing sent), then sends one transaction per partition; the ids in input order. */
  async submitMany(inputs: readonly PayloadInput[]): Promise<string[]> {
    this.refuseIfClosed();
    return this.send(validateBatch(inputs, this.validation()));
  }

  private validation(): ValidationContext {
    return { hasHandler: () => true, maxDataBytes: this.maxDataBytes, now: Date.now() };
  }

  private async send(valids: readonly ValidPayload[]): Promise<string[]> {
    const dependent = valids.findIndex((v) => v.dependsOn !== undefined && v.dependsOn.length > 0);
    if (dependent >= 0) throw new ValidationError([{ field: 'dependsOn', problem: 'needs a node: a client holds no dependency graph (submit it on a node)' }], valids.length > 1 ? dependent : undefined);
    const byPartition = new Map<number, Payload[]>();
    const ids = valids.map((valid) => {
      const payload = this.prepare(valid);
      const partition = partitionOfId(payload.id, this.partitionCount)!;
      const list = byPartition.get(partition);
      if (list) list.push(payload);
      else byPartition.set(partition, [payload]);
      return payload.id;
    });
    await Promise.all([...byPartition].map(([partition, payloads]) => this.writer!.send(partition, [{ payloads }])));
    if (!valids.some((v) => v.dedupe !== undefined)) return ids;
    // A dedupe payload may have been answered with another id: its partition's owner says which.
    const answered = new Map<string, string>();
    await Promise.all([...byPartition].map(async ([partition, payloads]) => {
      const got = await dedupedIds(payloads, (id) => this.calls.call(partition, 'dedupe', id));
      payloads.forEach((p, i) => answered.set(p.id, got[i] as string));
    }));
    return ids.map((id) => answered.get(id) ?? id);
  }

  /** The payload's view from its partition's owner; undefined when no node knows it. */
  async get(id: string): Promise<PayloadView | undefined> {
    this.refuseIfClosed();
    const partition = this.partitionOf(id);
    if (partition === undefined) return undefined;
    return (await this.calls.call(partition, 'get', id)) as PayloadView | undefined;
  }

  /** Cancels the payload on its partition's owner: true if it was cancelled, false if it had ended; rejects with UNKNOWN_PAYLOAD. */
  async cancel(id: string): Promise<boolean> {
    this.refuseIfClosed();
    const partition = this.partitionOf(id);
    const answer = partition === undefined ? 'unknown' : await this.calls.call(partition, 'cancel', id);
    if (answer === 'unknown') throw new TriageError('UNKNOWN_PAYLOAD', `no payload with id ${JSON.stringify(id)}`);
    return answer === 'cancelled';
  }

  /** Resolves with the payload's result once it completes; rejects as the runtime's `waitFor` does. */
  waitFor<R = unknown>(id: string): Promise<R> {
    if (this.closed) return Promise.reject(new RuntimeStoppedError());
    return this.waiters.wait<R>(id, () => this.get(id));
  }

  /** Ending events of one client id's payloads. */
  client(clientId: string): ClientListeners {
    return { on: (type, listener) => this.hub.onClient(clientId, checkType(type), listener) };
  }

  /** Stops reading and disconnects; pending `waitFor` calls reject with RUNTIME_STOPPED. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.waiters.rejectAll();
    this.calls.failAll();
    await this.bus?.stop();
    // Its mail stream was only ever for answers to this client.
    await this.connection.del(this.keys.mail(this.id)).catch(() => {});
    await this.engine.close();
  }

  private get connection(): Redis {
    return this.engine.connection;
  }

  private partitionOf(id: string): number | undefined {
    return typeof id === 'string' ? partitionOfId(id, this.partitionCount) : undefined;
  }

  private refuseIfClosed(): void {
    if (this.closed) throw new RuntimeStoppedError();
  }

  /** As a cluster node builds it: an idempotency key names the id, so a repeat from anywhere gets the same one. */
  private prepare(valid: ValidPayload): Payload {
    const unique = valid.idempotencyKey !== undefined ? uniqueOfKey(valid.idempotencyKey) : this.ids.next();
    const partition = partitionOf(valid.dedupe?.key ?? valid.shardKey ?? valid.idempotencyKey ?? unique, this.partitionCount);
    const { dependsOn: _d, onDependencyFailure: _o, ref: _r, ...fields } = valid;
    return { ...fields, id: withPartition(unique, partition), submittedAt: Date.now(), dependencies: undefined };
  }
}

function checkType(type: string): ClientEventType | '*' {
  if (type === '*' || (CLIENT_EVENTS as readonly string[]).includes(type)) return type as ClientEventType | '*';
  throw new TriageError('INVALID_INPUT', `a client hears ending events only (${CLIENT_EVENTS.join(', ')} or *), not ${JSON.stringify(type)}`);
}
