import { test, describe, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import {
  AdminError, createClient, createRuntime, defineWorkflow, MemoryEngine, OptionsError, RedisEngine, ScriptedLoadSampler, SimulatedClock,
  silentLogger, ValidationError, workflow, WorkflowDefinitionError, type CreateRuntimeOptions, type HandlerOptions, type Runtime,
} from '../src/index.ts';
import { unknownFields } from '../src/known-fields.ts';
import { clusterOptionProblems, type ClusterOptions } from '../src/cluster/options.ts';
import { compileMetricsOptions } from '../src/metrics/runtime-metrics.ts';
import { REDIS_URL } from './redis-support.ts';

/** What `fn` threw, checked to be an OptionsError. */
function optionsError(fn: () => unknown): OptionsError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof OptionsError, `expected an OptionsError, got ${String(error)}`);
    assert.equal(error.code, 'INVALID_OPTIONS');
    return error;
  }
  return assert.fail('expected an OptionsError');
}

async function rejectedWithOptionsError(promise: Promise<unknown>): Promise<OptionsError> {
  const error = await promise.then(() => assert.fail('expected an OptionsError'), (e: unknown) => e);
  assert.ok(error instanceof OptionsError, `expected an OptionsError, got ${String(error)}`);
  assert.equal(error.code, 'INVALID_OPTIONS');
  return error;
}

/** A Redis connection that records every use: a runtime built on it would touch it at once. */
function recordingRedis(): { client: never; touched: string[] } {
  const touched: string[] = [];
  const client: object = new Proxy({}, { get: (_, key) => (touched.push(String(key)), () => client) });
  return { client: client as never, touched };
}

let runtime: Runtime | undefined;
afterEach(async () => {
  await runtime?.stop();
  runtime = undefined;
});

describe('unknownFields', () => {
  test('names own enumerable string keys the list lacks, inherited names included; reads no value', () => {
    const value = Object.create({ inherited: 1 }) as Record<string | symbol, unknown>;
    Object.defineProperty(value, 'hidden', { value: 1, enumerable: false });
    value[Symbol('s')] = 1;
    value.known = 1;
    Object.assign(value, { constructor: 1, toString: 1 });
    Object.defineProperty(value, 'getter', { get: () => assert.fail('a value was read'), enumerable: true });
    value['k'.repeat(100)] = 1;
    const problems = unknownFields(value, { known: true }, 'pool', 'is not a pool option');
    assert.deepEqual(problems.map((p) => p.field), ['pool.constructor', 'pool.toString', 'pool.getter', `pool.${'k'.repeat(64)}…`]);
    assert.ok(problems.every((p) => p.problem === 'is not a pool option'));
  });

  test('undefined has no fields; anything else that is no object, or cannot be read, is one problem', () => {
    assert.deepEqual(unknownFields(undefined, {}, 'pool', 'x'), []);
    for (const value of [null, 5, 'pool', [1]]) assert.deepEqual(unknownFields(value, {}, 'pool', 'x'), [{ field: 'pool', problem: 'must be an object' }]);
    const hostile = new Proxy({}, { ownKeys: () => assert.fail('trap') });
    assert.deepEqual(unknownFields(hostile, {}, '', 'x'), [{ field: 'options', problem: 'could not be read (a proxy trap threw)' }]);
  });
});

describe('createRuntime refuses unknown options at every level', () => {
  const typos: ReadonlyArray<readonly [string, Record<string, unknown>]> = [
    ['partitons', { partitons: 4 }],
    ['tierCapacity.urgent', { tierCapacity: { urgent: 5 } }],
    ['maxWait.hi', { maxWait: { hi: 5 } }],
    ['handlerDefaults.timout', { handlerDefaults: { timout: 5 } }],
    ['handlerDefaults.backoff.constructor', { handlerDefaults: { backoff: { constructor: 2 } } }],
    ['coordinator.intervalMS', { coordinator: { intervalMS: 5 } }],
    ['coordinator.thresholds.cpu.elevatd', { coordinator: { thresholds: { cpu: { elevatd: 0.5 } } } }],
    ['coordinator.modes.normal', { coordinator: { modes: { normal: { low: 'skip' } } } }],
    ['coordinator.makeup.bost', { coordinator: { makeup: { bost: 1 } } }],
    ['coordinator.elevate.highWait', { coordinator: { elevate: { highWait: 1 } } }],
    ['coordinator.transfer.hotshare', { coordinator: { transfer: { hotshare: 0.5 } } }],
    ['pool.maxx', { pool: { maxx: 4 } }],
    ['throttle.lowTier', { throttle: { lowTier: 4 } }],
    ['boostRules[0].boosts', { boostRules: [{ tag: 'vip', boost: 1, boosts: 2 }] }],
    ['complexity.alfa', { complexity: { alfa: 0.5 } }],
    ['complexity.inflation.normal', { complexity: { inflation: { normal: 0.5 } } }],
    ['metrics.clientLabels', { metrics: { clientLabels: true } }],
    ['redis.prefx', { redis: { url: REDIS_URL, prefx: 'x' } }],
    ['cluster.nodeID', { cluster: { redis: REDIS_URL, nodeID: 'a' } }],
    ['cluster.redis.urll', { cluster: { redis: { urll: REDIS_URL } } }],
    ['deadLetters.maximum', { deadLetters: { maximum: 5 } }],
  ];
  for (const [field, options] of typos) {
    test(`${field} is named`, () => {
      const error = optionsError(() => createRuntime({ logger: silentLogger, ...options }));
      assert.deepEqual(error.problems.map((p) => p.field), [field]);
      assert.match(error.problems[0]?.problem ?? '', /^is not a/);
      assert.ok(error.message.includes(field));
    });
  }

  test('every unknown field and every bad value is listed in one error', () => {
    const typos: Record<string, unknown> = { partitons: 4, pool: { maxx: 4 }, metrics: { clientLabels: true } };
    const error = optionsError(() => createRuntime({ logger: silentLogger, partitions: 0, snapshotEvery: 0, ...typos }));
    assert.deepEqual(new Set(error.problems.map((p) => p.field)), new Set(['partitons', 'partitions', 'pool.maxx', 'snapshotEvery', 'metrics.clientLabels']));
  });

  test('options that are no object, or cannot be read, are refused', () => {
    for (const options of [null, 5, [1]]) assert.deepEqual(optionsError(() => createRuntime(options as never)).problems.map((p) => p.field), ['options']);
    const hostile = new Proxy({ logger: silentLogger }, { ownKeys: () => assert.fail('trap') });
    assert.deepEqual(optionsError(() => createRuntime(hostile)).problems, [{ field: 'options', problem: 'could not be read (a proxy trap threw)' }]);
  });

  test('a refused runtime builds nothing: its Redis connection is never touched', () => {
    const redis = recordingRedis();
    optionsError(() => createRuntime({ logger: silentLogger, redis: { client: redis.client }, ...{ partitons: 4 } }));
    // Before, every option of a cluster node was checked after its connection was made.
    const clustered = recordingRedis();
    optionsError(() => createRuntime({ logger: silentLogger, cluster: { redis: { client: clustered.client }, nodeId: 'node-a' }, snapshotEvery: 0 }));
    optionsError(() => createRuntime({ logger: silentLogger, cluster: { redis: { client: clustered.client }, nodeId: 'node-a' }, deadLetters: { max: -1 } }));
    assert.deepEqual([...redis.touched, ...clustered.touched], []);
  });

  test('every option there is is accepted', async () => {
    const full = {
      name: 'full', partitions: 2, concurrency: 4, reservedShare: 0.25, reservedFor: 'high', tierCapacity: { critical: 10, high: 10, medium: 10, low: 10 },
      overflow: 'wait', overflowWaitMs: 100, maxWait: { critical: 1_000, high: 2_000, medium: 3_000, low: 4_000 }, heavyComplexity: 9, maxDataBytes: 1_000,
      handlerDefaults: { timeout: 1_000, retries: 1, backoff: { initialMs: 10, factor: 2, maxMs: 100, jitter: 0 } }, retainTerminal: 100,
      clock: new SimulatedClock(), random: () => 0,
      coordinator: {
        intervalMs: 500, sampler: new ScriptedLoadSampler(), thresholds: { cpu: { elevated: 0.9, critical: 0.99 } }, exitRatio: 0.5, stepDownAfterMs: 1_000,
        modes: { elevated: { low: 'degrade' }, critical: { low: 'skip' } }, degradedTimeoutFactor: 0.5, makeup: { boost: 1, batchSize: 10, maxBacklogMs: 100 },
        elevate: { highWaitRatio: 0.2 }, transfer: { hotShare: 0.5, coldShare: 0.1, batchSize: 10 }, decisionsKept: 10,
      },
      pool: { min: 4, max: 8, scaleUpQueuePerSlot: 2, scaleDownBusyShare: 0.5, step: 0.25, checkIntervalMs: 1_000, cooldownMs: 1_000, stuckGraceMs: 1_000 },
      throttle: { low: 100 }, boostRules: [{ name: 'vip', tag: 'vip', when: () => true, boost: 1 }],
      complexity: { alpha: 0.2, priorSamples: 10, maxWeight: 0.8, unitMs: 10, cpuWeight: 3, memoryWeight: 1, inflation: { elevated: 0.1, critical: 0.2 }, sampleEvery: 16 },
      logger: silentLogger, metrics: { clientLabel: true, maxClients: 5, maxPartitionLabels: 8, processMetrics: false },
      // `redis` is not connected to when `persistence` is given.
      persistence: new MemoryEngine(), redis: { url: REDIS_URL, prefix: 'full', redis: { connectTimeout: 1_000 }, onConnectionError: () => {} },
      deadLetters: { max: 10 }, scheduleLeadMs: 100, snapshotEvery: 10, snapshotIntervalMs: 100, fairness: { weights: { vip: 3 }, defaultWeight: 1 },
      limits: { global: { maxRunning: 4 }, types: { job: { perSecond: 10, burst: 2 } }, clients: { default: { maxRunning: 2 } }, keys: { overrides: { k: { maxRunning: 1 } } } },
    } as const satisfies Required<Omit<CreateRuntimeOptions, 'cluster'>>;
    runtime = createRuntime(full);
    await runtime.ready();
    assert.equal(runtime.options.partitions, 2);
    const cluster: Required<ClusterOptions> = {
      redis: { url: REDIS_URL, prefix: 'full' }, nodeId: 'node-a', leaseTtlMs: 5_000, handoverTimeoutMs: 5_000, callTimeoutMs: 5_000, adminUrl: 'http://x/', homeTtlMs: 15_000,
    };
    assert.deepEqual(clusterOptionProblems(cluster), []);
  });
});

describe('the other entry points refuse unknown options and change nothing', () => {
  test('handle: a typo in the options or their backoff or batch registers nothing', () => {
    runtime = createRuntime({ logger: silentLogger });
    const rt = runtime;
    for (const [field, options] of [['timout', { timout: 5 }], ['backoff.factr', { backoff: { factr: 2 } }], ['batch.wait', { batch: { max: 2, waitMs: 1, wait: 3 } }]] as const) {
      const error = optionsError(() => rt.handle('job', () => 1, options as never));
      assert.deepEqual(error.problems.map((p) => p.field), [field]);
    }
    assert.deepEqual(optionsError(() => rt.handle('job', () => 1, null as never)).problems.map((p) => p.field), ['options']);
    assert.deepEqual(rt.handlerTypes(), []);
    const full: Required<HandlerOptions> = { concurrency: 2, timeout: 100, retries: 1, backoff: { initialMs: 1 }, nonRetryable: () => false, batch: { max: 2, waitMs: 1 } };
    rt.handle('job', () => 1, full);
    assert.deepEqual(rt.handlerTypes(), ['job']);
  });

  test('stop: a typo is refused and the runtime keeps running', async () => {
    runtime = createRuntime({ logger: silentLogger });
    const error = await rejectedWithOptionsError(runtime.stop({ drian: true } as never));
    assert.deepEqual(error.problems, [{ field: 'drian', problem: 'is not a stop option' }]);
    assert.equal(runtime.state, 'running');
  });

  test('workflows: a typo in start options starts nothing; in a definition, it is no definition', async () => {
    runtime = createRuntime({ logger: silentLogger });
    runtime.handle('echo', (d) => d);
    const def = workflow('echo').step('echo', { handler: 'echo', input: ({ input }) => input }).output(({ results }) => results.echo);
    const error = await rejectedWithOptionsError(runtime.workflows.start(def, 1, { clientID: 'a' } as never));
    assert.deepEqual(error.problems.map((p) => p.field), ['clientID']);
    assert.deepEqual(runtime.workflows.list(), []);

    const refused = (fn: () => unknown): string[] => {
      try {
        fn();
      } catch (e) {
        assert.ok(e instanceof WorkflowDefinitionError && e.code === 'INVALID_WORKFLOW', String(e));
        return e.problems.map((p) => `${p.step}:${p.field}`);
      }
      return assert.fail('expected a WorkflowDefinitionError');
    };
    assert.deepEqual(refused(() => workflow('w', { descripton: 'x' } as never)), ['(workflow):descripton']);
    assert.deepEqual(refused(() => defineWorkflow({ name: 'w', steps: [{ name: 'a', handler: 'echo', input: () => 1 }], output: () => 1, outputs: 1 } as never)), ['(workflow):outputs']);
    assert.deepEqual(refused(() => workflow('w').step('a', { handler: 'echo', input: () => 1, backoff: { factr: 2 } as never }).output(() => 1)), ['a:backoff.factr']);
    assert.deepEqual(refused(() => workflow('w').step('a', { handler: 'echo', input: () => 1, compensate: { handler: 'echo', input: () => 1, retrys: 1 } as never }).output(() => 1)), ['a:compensate.retrys']);
  });

  test('schedules, pauses and dead-letter filters refuse theirs as invalid input', async () => {
    runtime = createRuntime({ logger: silentLogger });
    const rt = runtime;
    rt.handle('job', () => 1);
    await assert.rejects(rt.schedules.set({ id: 's', every: 1_000, payload: { type: 'job' }, overlapp: 'skip' } as never), (e: unknown) => e instanceof ValidationError && e.fields.join() === 'overlapp');
    assert.deepEqual(rt.schedules.list(), []);
    assert.throws(() => rt.pause({ typ: 'job' } as never), (e: unknown) => e instanceof ValidationError && e.fields.join() === 'typ');
    assert.equal(rt.paused().all, false);
    await assert.rejects(rt.retryFailed({ type: 'job', limit: 5 } as never), (e: unknown) => e instanceof ValidationError && e.fields.join() === 'limit');
  });

  test('admin: a typo in listen or server options is refused before anything listens', async () => {
    runtime = createRuntime({ logger: silentLogger });
    const rt = runtime;
    await assert.rejects(rt.admin.listen({ prot: 0 } as never), (e: unknown) => e instanceof AdminError && e.code === 'INVALID_ADMIN_OPTIONS' && e.field === 'prot' && /prot is not an admin option/.test(e.message));
    assert.equal(rt.admin.url, undefined);
    assert.throws(() => rt.admin.createServer({ port: 0 } as never), (e: unknown) => e instanceof AdminError && e.field === 'port');
  });

  test('client, Redis engine and metrics options', async () => {
    const client = await rejectedWithOptionsError(createClient({ redis: { url: REDIS_URL, prefx: 'x' }, callTimeout: 100 } as never));
    assert.deepEqual(new Set(client.problems.map((p) => p.field)), new Set(['redis.prefx', 'callTimeout']));
    assert.deepEqual(optionsError(() => new RedisEngine({ url: REDIS_URL, prefx: 'x' } as never)).problems.map((p) => p.field), ['redis.prefx']);
    assert.deepEqual(optionsError(() => compileMetricsOptions({ clientLabels: true } as never)).problems.map((p) => p.field), ['metrics.clientLabels']);
  });
});
