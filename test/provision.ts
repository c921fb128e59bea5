/**
 * `npm test`'s `pretest`: makes sure what the tests drive is there, so the README's test command
 * alone passes on a fresh Debian machine with Node. The admin-page tests need Debian's chromium at
 * /usr/bin/chromium, the metrics tests promtool (Debian's `prometheus` package), the durability
 * tests a Redis answering on 127.0.0.1:6379 (or at REDIS_URL). What is missing is installed with apt-get when this
 * runs as root, and a Redis is started when none answers; otherwise it stops at once with one line
 * naming what to install. Every step is bounded in time: nothing here waits for input or hangs.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { connect } from 'node:net';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CHROMIUM = '/usr/bin/chromium';

/** Where the tests look for Redis (REDIS_URL, as test/redis-support.ts reads it). */
export function redisTarget(env: NodeJS.ProcessEnv = process.env): { host: string; port: number } {
  const url = new URL(env['REDIS_URL'] ?? 'redis://127.0.0.1:6379');
  return { host: url.hostname, port: Number(url.port || 6379) };
}
const REDIS = redisTarget();

/** What the machine has, as far as the tests are concerned. */
export interface Found {
  readonly chromium: boolean;
  readonly promtool: boolean;
  readonly redisAnswers: boolean;
  readonly redisServer: boolean;
  /** The Redis the tests use is on this machine, so one can be started there. */
  readonly redisLocal: boolean;
  /** Root with apt-get on PATH: missing packages can be installed. */
  readonly canInstall: boolean;
}

export type Plan =
  | { readonly kind: 'ready' }
  | { readonly kind: 'provision'; readonly install: readonly string[]; readonly startRedis: boolean }
  | { readonly kind: 'stop'; readonly line: string };

/** Which Debian package brings each missing tool, and what to do about them. */
export function planProvisioning(found: Found): Plan {
  const missing: string[] = [];
  if (!found.chromium) missing.push('chromium');
  if (!found.promtool) missing.push('prometheus');
  const startRedis = !found.redisAnswers;
  if (startRedis && !found.redisServer) missing.push('redis-server');
  if (startRedis && !found.redisLocal) return { kind: 'stop', line: `npm test needs the Redis at ${REDIS.host}:${REDIS.port} (REDIS_URL), and none answers there` };
  if (missing.length === 0 && !startRedis) return { kind: 'ready' };
  if (missing.length === 0 || found.canInstall) return { kind: 'provision', install: missing, startRedis };
  const what = missing.map((pkg) => (pkg === 'prometheus' ? 'prometheus (for promtool)' : pkg === 'chromium' ? `chromium (${CHROMIUM})` : pkg));
  const redis = startRedis ? `, then start a Redis on ${REDIS.host}:${REDIS.port}` : '';
  return { kind: 'stop', line: `npm test needs ${what.join(', ')}: install with \`apt-get install ${missing.join(' ')}\` as root (or run npm test as root to have them installed)${redis}` };
}

/** The path of `command` on PATH, if it is there and executable. */
export function onPath(command: string, path = process.env['PATH'] ?? ''): string | undefined {
  for (const dir of path.split(delimiter).filter(Boolean)) {
    try {
      accessSync(join(dir, command), constants.X_OK);
      return join(dir, command);
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** True when a Redis answers PING on host:port within `ms`. */
export function redisAnswers(host: string, port: number, ms = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let reply = '';
    const done = (answer: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => done(false), ms);
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
    socket.on('error', () => done(false));
  });
}

export async function probe(env: NodeJS.ProcessEnv = process.env): Promise<Found> {
  const path = env['PATH'] ?? '';
  return {
    chromium: executable(CHROMIUM),
    promtool: onPath('promtool', path) !== undefined,
    redisAnswers: await redisAnswers(REDIS.host, REDIS.port),
    redisServer: onPath('redis-server', path) !== undefined,
    redisLocal: ['127.0.0.1', 'localhost'].includes(REDIS.host),
    canInstall: process.getuid?.() === 0 && onPath('apt-get', path) !== undefined,
  };
}

const APT_TIMEOUT_MS = 15 * 60_000;

/** Runs a command with no input and a time bound; returns a one-line reason when it failed. */
function bounded(command: string, args: readonly string[], timeout: number): string | undefined {
  const result = spawnSync(command, args, {
    stdio: ['ignore', 'ignore', 'pipe'], timeout, encoding: 'utf8', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (result.error) return `${command}: ${result.error.message}`;
  if (result.status !== 0) return `${command} ${args.join(' ')} exited ${result.status ?? result.signal}: ${(result.stderr ?? '').trim().split('\n').at(-1) ?? ''}`;
  return undefined;
}

async function provision(plan: Extract<Plan, { kind: 'provision' }>): Promise<string | undefined> {
  if (plan.install.length > 0) {
    process.stderr.write(`pretest: installing ${plan.install.join(', ')} (apt-get)\n`);
    const failed = bounded('apt-get', ['update', '-qq'], APT_TIMEOUT_MS) ?? bounded('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...plan.install], APT_TIMEOUT_MS);
    if (failed) return `pretest: could not install ${plan.install.join(' ')}: ${failed}`;
  }
  if (plan.startRedis) {
    process.stderr.write(`pretest: no Redis answers on ${REDIS.host}:${REDIS.port}; starting redis-server there\n`);
    const failed = bounded('redis-server', ['--daemonize', 'yes', '--bind', REDIS.host, '--port', String(REDIS.port), '--save', '', '--appendonly', 'no'], 10_000);
    if (failed) return `pretest: could not start redis-server: ${failed}`;
    for (let deadline = Date.now() + 5_000; !(await redisAnswers(REDIS.host, REDIS.port, 200)); ) {
      if (Date.now() > deadline) return `pretest: redis-server started but nothing answers on ${REDIS.host}:${REDIS.port}`;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return undefined;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const plan = planProvisioning(await probe());
  const failure = plan.kind === 'stop' ? plan.line : plan.kind === 'provision' ? await provision(plan) : undefined;
  if (failure !== undefined) {
    process.stderr.write(`${failure}\n`);
    process.exitCode = 1;
  }
}
