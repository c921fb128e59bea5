/**
 * Helpers for admin, metrics and CLI tests (not a test file): a runtime with its admin endpoint on
 * a free loopback port, a JSON client for it, captured CLI output.
 */
import { spawn } from 'node:child_process';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { AdminListener, ListenOptions } from '../src/admin/index.ts';
import type { CliIo } from '../src/cli/command.ts';
import type { CreateRuntimeOptions, Logger, Runtime } from '../src/index.ts';
import { setup } from './helpers.ts';

export const TOKEN = 'test-token-0123456789abcdef';

export interface Served {
  readonly rt: Runtime;
  readonly clock: ReturnType<typeof setup>['clock'];
  readonly admin: AdminListener;
  readonly logged: string[];
  /** Fetches `path` from the admin endpoint; `json` is the parsed body when it is JSON. */
  call(path: string, init?: RequestInit): Promise<{ status: number; headers: Headers; text: string; json: any }>;
  close(): Promise<void>;
}

/** A logger that keeps what it is given, to check what the server logs. */
export function keepingLogger(lines: string[]): Logger {
  const keep = (level: string) => (message: string, fields?: Record<string, unknown>) => void lines.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`);
  return { debug: keep('debug'), info: keep('info'), warn: keep('warn'), error: keep('error') };
}

export async function serve(options: CreateRuntimeOptions = {}, listen: ListenOptions = {}): Promise<Served> {
  const logged: string[] = [];
  const { rt, clock } = setup({ logger: keepingLogger(logged), ...options });
  await rt.ready();
  const admin = await rt.admin.listen({ port: 0, ...listen });
  return {
    rt,
    clock,
    admin,
    logged,
    async call(path, init) {
      const response = await fetch(new URL(path, admin.url), init);
      const text = await response.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: response.status, headers: response.headers, text, json };
    },
    async close() {
      await rt.stop();
    },
  };
}

export const bearer = (token = TOKEN): RequestInit['headers'] => ({ authorization: `Bearer ${token}` });

export function post(body?: unknown, token: string | undefined = TOKEN, raw?: string): RequestInit {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
  return { method: 'POST', headers, body: raw ?? (body === undefined ? undefined : JSON.stringify(body)) };
}

/** CLI streams that keep what is written. */
export function captureIo(env: NodeJS.ProcessEnv = {}): CliIo & { out(): string; err(): string } {
  let out = '';
  let err = '';
  const stdout = new Writable({ write: (chunk: Buffer, _encoding, done) => void ((out += chunk.toString('utf8')), done()) });
  const stderr = new Writable({ write: (chunk: Buffer, _encoding, done) => void ((err += chunk.toString('utf8')), done()) });
  return { stdout, stderr, env, out: () => out, err: () => err };
}

/** Polls `check` until it returns a value other than undefined, or fails after `ms`. */
export async function eventually<T>(what: string, check: () => T | undefined | Promise<T | undefined>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** The samples of a text exposition (the format itself is checked by promtool in the metrics tests). */
export function samples(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[key as string] = value as string;
    out.push({ name: match[1] as string, labels, value: Number(match[3]) });
  }
  return out;
}

/** The value of the one sample of `name` whose labels include `labels`; undefined when there is none. */
export function sampleValue(all: readonly Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = all.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return found[0]?.value;
}

/** `bin/triage.js` as a child process, its output kept line by line. */
export function spawnTriage(args: string[], env: NodeJS.ProcessEnv = {}) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('TRIAGE_')));
  const child = spawn(process.execPath, [fileURLToPath(new URL('../bin/triage.js', import.meta.url)), ...args], {
    // Outside the checkout, so `triage start` finds no ./workflows folder unless a test gives one.
    cwd: tmpdir(),
    env: { ...clean, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return {
    child,
    exited,
    stdout: () => stdout,
    stderr: () => stderr,
    /** Waits for `pattern` on stdout; fails (with what was printed) after `ms`. */
    waitFor: (pattern: RegExp, ms = 15_000) =>
      eventually(`${pattern} from triage ${args.join(' ')} (stdout: ${stdout}; stderr: ${stderr})`, () => pattern.exec(stdout) ?? undefined, ms),
    /** Ends it if a test failed before it exited. */
    kill: () => void (child.exitCode === null && child.signalCode === null && child.kill('SIGKILL')),
  };
}

/** Resolves within `ms` or fails naming `what`. */
export function within<T>(what: string, promise: Promise<T>, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms)));
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** A port nothing listens on (taken, then given back). */
export async function closedPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
