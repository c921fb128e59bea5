/**
 * `triage start`: a runtime (embedded default, or durable on Redis), its admin endpoint, the modules
 * of a workflow folder, and optionally the main job's workload as a live demo. Runs until SIGINT or SIGTERM, then
 * stops (running attempts are aborted).
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { AdminError } from '../../admin/errors.ts';
import { TriageError, WorkflowLoadError, type ErrorCode } from '../../errors.ts';
import type { AdminListener } from '../../admin/server.ts';
import type { Handler, HandlerOptions } from '../../execution/handlers.ts';
import { createRuntime, type CreateRuntimeOptions, type Runtime } from '../../runtime.ts';
import { EXIT, UsageError, type CliIo, type Command } from '../command.ts';
import { importUserModule } from '../module-loader.ts';
import { StatusLine, type StatusSink } from '../status-line.ts';
import { runDemo } from './demo.ts';

export interface StartOptions {
  readonly port: number;
  readonly host: string;
  readonly token: string | undefined;
  /** Folder of modules to load; undefined = none. */
  readonly workflows: string | undefined;
  readonly demo: boolean;
  readonly runtime: CreateRuntimeOptions;
}

export interface Started {
  readonly runtime: Runtime;
  readonly admin: AdminListener;
  /** What the workflow folder held. */
  readonly loaded: LoadedFolder;
  /** Prints a line of output (above the demo's status line on a terminal). */
  say(line: string): void;
  stop(): Promise<void>;
}

const usage = `usage: triage start [options]

Starts a runtime with its admin endpoint and prints the admin page's URL: on the embedded default
(in-process, in memory), or durable on Redis with --redis. Runs until interrupted (SIGINT/SIGTERM),
then stops cleanly.

options:
  --port <n>            admin port (0 = any free port)        env TRIAGE_ADMIN_PORT   default 7070
  --host <address>      admin address                         env TRIAGE_ADMIN_HOST   default 127.0.0.1
                        any address but loopback needs a token
  --token-file <path>   file holding the bearer token for operator actions (or env TRIAGE_ADMIN_TOKEN);
                        without a token, operator actions are off
  --workflows <dir>     load the workflow folder: <name>.handlers.ts modules register their handlers,
                        <name>.ts modules hold workflow definitions (or export register(runtime))
                                                                                 default ./workflows if present
  --redis <url>         journal and snapshot on Redis; state is recovered at start
                                                              env TRIAGE_REDIS_URL
  --redis-prefix <p>    prefix of every Redis key             env TRIAGE_REDIS_PREFIX default triage
  --cluster             join the cluster of every node started with --cluster on this Redis (and
                        prefix): partitions are leased across the live nodes; SIGTERM hands this
                        node's partitions over (running attempts finish first)
  --node-id <id>        this node's id, stable across its restarts  env TRIAGE_NODE_ID  default <host>-<pid>
  --lease-ttl <ms>      how long a dead node's partitions wait before others take them   default 5000
  --partitions <n>      virtual partitions                    default 16
  --concurrency <n>     execution slots                       default 32 (8 with --demo)
  --name <name>         runtime name (actor system, metric label)
  --demo                run the main job's mixed workload, wave after wave, to watch
  --help                show this help

exit codes: 0 stopped on a signal
            1 failed to start or run (port in use, Redis unreachable, a module failed to load,
              a cluster node paused past its home's lease, or whose node id another process took)
            2 bad usage or configuration (bad flag, public address without a token, a node id
              a live node holds [NODE_ID_IN_USE], a partition count the cluster does not have
              [CLUSTER_SHAPE_MISMATCH])
`;

/** Why a cluster refuses a node at start: bad configuration, exit code 2. */
const REFUSED_BY_CLUSTER = new Set<ErrorCode>(['NODE_ID_IN_USE', 'CLUSTER_SHAPE_MISMATCH']);

const int = (flag: string, raw: string | undefined, min: number, max: number): number | undefined => {
  if (raw === undefined) return undefined;
  const value = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) throw new UsageError(`${flag} must be a whole number between ${min} and ${max}, got ${JSON.stringify(raw)}`);
  return value;
};

/** Flags and environment → options. Throws UsageError naming the problem. */
export function parseStartArgs(args: string[], env: NodeJS.ProcessEnv, cwd = process.cwd()): StartOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: 'string' }, host: { type: 'string' }, 'token-file': { type: 'string' }, workflows: { type: 'string' },
        redis: { type: 'string' }, 'redis-prefix': { type: 'string' }, partitions: { type: 'string' }, concurrency: { type: 'string' }, name: { type: 'string' },
        demo: { type: 'boolean' }, cluster: { type: 'boolean' }, 'node-id': { type: 'string' }, 'lease-ttl': { type: 'string' },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  let token = env['TRIAGE_ADMIN_TOKEN'] || undefined;
  if (values['token-file'] !== undefined) {
    try {
      token = readFileSync(values['token-file'], 'utf8').trim();
    } catch (error) {
      throw new UsageError(`cannot read --token-file ${values['token-file']}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  }
  let workflows: string | undefined;
  if (values.workflows !== undefined) {
    workflows = resolve(cwd, values.workflows);
    if (!existsSync(workflows) || !statSync(workflows).isDirectory()) throw new UsageError(`--workflows ${values.workflows} is not a folder`);
  } else if (existsSync(join(cwd, 'workflows')) && statSync(join(cwd, 'workflows')).isDirectory()) {
    workflows = join(cwd, 'workflows');
  }
  const demo = values.demo === true;
  const redis = values.redis ?? (env['TRIAGE_REDIS_URL'] || undefined);
  const prefix = values['redis-prefix'] ?? (env['TRIAGE_REDIS_PREFIX'] || undefined);
  if (redis !== undefined && !/^rediss?:\/\//.test(redis)) throw new UsageError(`--redis must be a redis:// or rediss:// URL, got ${JSON.stringify(redis)}`);
  if (prefix !== undefined && !/^[\w.:-]+$/.test(prefix)) throw new UsageError(`--redis-prefix must be letters, digits, . : _ -, got ${JSON.stringify(prefix)}`);
  if (prefix !== undefined && redis === undefined) throw new UsageError('--redis-prefix goes with --redis');
  const cluster = values.cluster === true;
  // The environment's node id matters only to a cluster node; the flag without --cluster is a mistake.
  const nodeId = values['node-id'] ?? (cluster ? env['TRIAGE_NODE_ID'] || undefined : undefined);
  const leaseTtlMs = int('--lease-ttl', values['lease-ttl'], 100, 3_600_000);
  if (cluster && redis === undefined) throw new UsageError('--cluster needs --redis (the Redis every node shares)');
  if (!cluster && (values['node-id'] !== undefined || leaseTtlMs !== undefined)) throw new UsageError('--node-id and --lease-ttl go with --cluster');
  if (nodeId !== undefined && !/^[\w.:-]+$/.test(nodeId)) throw new UsageError(`--node-id must be letters, digits, . : _ -, got ${JSON.stringify(nodeId)}`);
  const partitions = int('--partitions', values.partitions, 1, 65_536);
  const concurrency = int('--concurrency', values.concurrency, 1, 1_000_000);
  return {
    port: int('--port', values.port ?? (env['TRIAGE_ADMIN_PORT'] || undefined), 0, 65_535) ?? 7070,
    host: values.host ?? (env['TRIAGE_ADMIN_HOST'] || '127.0.0.1'),
    token,
    workflows,
    demo,
    runtime: {
      ...(redis === undefined ? {} : cluster
        ? { cluster: { redis: { url: redis, ...(prefix === undefined ? {} : { prefix }) }, ...(nodeId === undefined ? {} : { nodeId }), ...(leaseTtlMs === undefined ? {} : { leaseTtlMs }) } }
        : { redis: { url: redis, ...(prefix === undefined ? {} : { prefix }) } }),
      ...(values.name === undefined ? {} : { name: values.name }),
      ...(partitions === undefined ? {} : { partitions }),
      ...(concurrency === undefined ? (demo ? { concurrency: 8 } : {}) : { concurrency }),
    },
  };
}

const MODULE = /\.(?:m?ts|m?js)$/;
const NOT_A_MODULE = /(?:\.d\.ts|\.test\.[mc]?[jt]s)$/;
const HANDLERS_MODULE = /\.handlers\.[mc]?[jt]s$/;
/** How a workflow definition marks itself (`src/dsl/definition.ts`), so this loader needs no DSL import. */
const DEFINITION_KIND = 'triage.workflow';

export interface LoadedFolder {
  /** Modules imported, in name order. */
  readonly modules: readonly string[];
  /** Handler types registered from `*.handlers.ts` modules. */
  readonly handlerTypes: readonly string[];
  /** Names of the workflow definitions found (imported, so a broken one fails the start). */
  readonly workflows: readonly string[];
}

/**
 * Loads a workflow folder as `triage run` reads one: `<name>.handlers.ts` modules export `handlers`
 * (payload type → handler) and optionally `handlerOptions`, registered on the runtime; `<name>.ts`
 * modules export a workflow definition (listed) or a `register(runtime)` function (called).
 */
export async function loadWorkflowFolder(runtime: Runtime, dir: string, warn: (line: string) => void): Promise<LoadedFolder> {
  const loaded = { modules: [] as string[], handlerTypes: [] as string[], workflows: [] as string[] };
  for (const file of readdirSync(dir).filter((f) => MODULE.test(f) && !NOT_A_MODULE.test(f)).sort()) {
    const path = join(dir, file);
    const module = await importUserModule(path);
    loaded.modules.push(path);
    if (HANDLERS_MODULE.test(file)) {
      const { handlers, handlerOptions } = module as { handlers?: unknown; handlerOptions?: Record<string, HandlerOptions> };
      if (typeof handlers !== 'object' || handlers === null || !Object.values(handlers).every((h) => typeof h === 'function')) {
        throw new WorkflowLoadError(path, 'it must export `handlers`: an object of handler functions by payload type');
      }
      for (const [type, fn] of Object.entries(handlers as Record<string, Handler>)) runtime.handle(type, fn, handlerOptions?.[type] ?? {});
      loaded.handlerTypes.push(...Object.keys(handlers));
    } else if (typeof module['register'] === 'function') {
      await (module['register'] as (runtime: Runtime) => unknown)(runtime);
    } else {
      const definitions = Object.values(module).filter((v): v is { name: string } => (v as { kind?: unknown } | null)?.kind === DEFINITION_KIND);
      if (definitions.length === 0) warn(`triage start: ${path} exports no workflow definition, handlers or register(runtime); nothing to load`);
      for (const definition of new Set(definitions)) loaded.workflows.push(definition.name);
    }
  }
  return loaded;
}

/** Starts everything; the caller stops it. Errors are thrown (AdminError for the admin endpoint). */
export async function startServer(options: StartOptions, io: Pick<CliIo, 'stderr'> & Partial<Pick<CliIo, 'stdout'>>): Promise<Started> {
  const out = io.stdout ?? io.stderr;
  // The demo's status line stays at the bottom of the terminal; every other line goes above it.
  const status = new StatusLine(out as StatusSink);
  const warn = (line: string) => status.above(() => io.stderr.write(`${line}\n`));
  const say = (line: string) => status.above(() => out.write(`${line}\n`));
  let runtimeOptions = options.runtime;
  if (options.demo) {
    const { mainJobOptions } = await import('../../../examples/main-job.ts');
    runtimeOptions = { ...mainJobOptions, ...runtimeOptions };
  }
  // The engine's warnings and errors go where the command's own do.
  const line = (level: string) => (message: string, fields?: Record<string, unknown>) => warn(JSON.stringify({ level, message, ...fields }));
  const runtime = createRuntime({ logger: { debug() {}, info() {}, warn: line('warn'), error: line('error') }, ...runtimeOptions });
  let admin: AdminListener;
  let loaded: LoadedFolder = { modules: [], handlerTypes: [], workflows: [] };
  try {
    // Connected to the store and recovered: nothing listens before that.
    await runtime.ready().catch((error: unknown) => {
      // Refused by the cluster (the node id in use, another shape): configuration, said as it is.
      if (error instanceof TriageError && REFUSED_BY_CLUSTER.has(error.code)) throw error;
      throw new Error(`cannot recover from the store: ${error instanceof Error ? error.message : String(error)}`);
    });
    if (options.demo) (await import('../../../examples/main-job.ts')).registerMainJob(runtime);
    if (options.workflows !== undefined) loaded = await loadWorkflowFolder(runtime, options.workflows, warn);
    admin = await runtime.admin.listen({ port: options.port, host: options.host, ...(options.token === undefined ? {} : { token: options.token }) });
  } catch (error) {
    await runtime.stop();
    throw error;
  }
  const demo = new AbortController();
  const waves = options.demo ? runDemo(runtime, { signal: demo.signal, status, adminUrl: admin.url, warn, print: say }) : Promise.resolve();
  return {
    runtime,
    admin,
    loaded,
    say,
    async stop() {
      demo.abort();
      status.end();
      await runtime.admin.close();
      await waves;
      // Embedded, not a drain: a slow handler must not keep a signalled process alive, so running
      // attempts are aborted. A cluster node drains: its running attempts finish and its queued
      // work goes to the nodes that take its partitions over, so nothing runs twice.
      await runtime.stop({ drain: runtime.cluster !== undefined });
    },
  };
}

/** The Redis URL without its password, for printing. */
function redactUrl(redis: CreateRuntimeOptions['redis'] | NonNullable<CreateRuntimeOptions['cluster']>['redis']): string {
  const raw = typeof redis === 'string' ? redis : redis?.url ?? 'redis';
  try {
    const url = new URL(raw);
    if (url.password) url.password = '***';
    return url.href;
  } catch {
    return 'redis';
  }
}

/** Resolves with the name of the first SIGINT or SIGTERM. */
function nextStopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(signal);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

export const start: Command = {
  name: 'start',
  summary: 'run a runtime with its admin endpoint (and a demo workload with --demo)',
  usage,
  async run(args, io) {
    const options = parseStartArgs(args, io.env);
    let started: Started;
    try {
      started = await startServer(options, io);
    } catch (error) {
      const configuration = error instanceof AdminError && (error.code === 'INSECURE_BIND' || error.code === 'INVALID_ADMIN_OPTIONS');
      const code = (error as { code?: unknown }).code;
      const reason = code === 'EADDRINUSE' ? `${options.host}:${options.port} is already in use (try --port 0)`
        : error instanceof WorkflowLoadError || (error instanceof TriageError && REFUSED_BY_CLUSTER.has(error.code)) ? `${error.message} [${error.code}]` : (error as Error).message;
      io.stderr.write(`triage start: ${reason}\n`);
      const refused = error instanceof TriageError && REFUSED_BY_CLUSTER.has(error.code);
      return configuration || refused || code === 'INVALID_OPTIONS' ? EXIT.usage : EXIT.failed;
    }
    const { admin, loaded, runtime, say } = started;
    // Listen before the URL is printed: whoever reads it may interrupt at once.
    const stopSignal = nextStopSignal();
    const cluster = runtime.cluster;
    const store = cluster
      ? `node ${cluster.nodeId} of the cluster on ${redactUrl(options.runtime.cluster?.redis)}`
      : runtime.store.stats().durable ? `durable on ${redactUrl(options.runtime.redis)}, ${runtime.recovery?.records ?? 0} records recovered` : 'in memory';
    say(`triage: runtime ${runtime.options.name} running (${runtime.options.partitions} partitions, ${runtime.options.concurrency} slots, ${store})`);
    if (loaded.modules.length > 0) {
      const workflows = loaded.workflows.length === 0 ? 'no workflows' : `workflows ${loaded.workflows.join(', ')}`;
      say(`triage: workflow folder ${options.workflows}: ${workflows}; ${loaded.handlerTypes.length} handler types`);
    }
    if (options.demo) say('triage: demo workload running (the main job and an album workflow, wave after wave)');
    say(`triage: admin page ${admin.url}`);
    say(`triage: metrics ${admin.url}metrics`);
    if (options.token === undefined) say('triage: operator actions are off (no TRIAGE_ADMIN_TOKEN)');
    const signal = await Promise.race([stopSignal, runtime.whenStopped().then(() => undefined)]);
    if (signal === undefined) {
      // Stopped on its own (a cluster node that lost its home): a supervisor starts it again.
      await started.stop();
      io.stderr.write(`triage: the runtime stopped: ${runtime.stoppedBy?.message ?? 'stopped'}\n`);
      return EXIT.failed;
    }
    say(`triage: ${signal}, stopping`);
    await started.stop();
    io.stdout.write('triage: stopped\n');
    return EXIT.ok;
  },
};
