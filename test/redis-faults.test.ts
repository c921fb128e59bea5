// Redis faults on a server of the test's own (a spare port, an append-only file so a restart keeps
// its data): stopped, restarted, paused mid-run. Submits are refused while it is away, nothing
// acknowledged is lost, and the runtime resumes by itself.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { createRuntime, silentLogger, type Runtime } from '../src/index.ts';

async function sparePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

class OwnRedis {
  private process: ChildProcess | undefined;
  constructor(readonly port: number, private readonly dir: string) {}
  get url() {
    return `redis://127.0.0.1:${this.port}`;
  }
  async start(): Promise<void> {
    this.process = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', ''], { stdio: 'ignore' });
    const probe = new Redis(this.url, { lazyConnect: true, retryStrategy: () => 50, maxRetriesPerRequest: null });
    probe.on('error', () => {}); // refused until the server listens: expected while it starts
    await probe.connect().catch(() => {});
    await probe.ping();
    probe.disconnect();
  }
  async stop(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
  pause() { this.process?.kill('SIGSTOP'); }
  resume() { this.process?.kill('SIGCONT'); }
}

async function until(predicate: () => boolean | Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

test('stopped, restarted and paused Redis: refusals while away, no loss, resumes by itself', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'triage-redis-'));
  const redis = new OwnRedis(await sparePort(), dir);
  await redis.start();
  let runtime: Runtime | undefined;
  try {
    runtime = createRuntime({ partitions: 4, concurrency: 4, logger: silentLogger, redis: { url: redis.url, prefix: 'faults', redis: { commandTimeout: 300 } } });
    const rt = runtime;
    const done = new Set<string>();
    rt.handle('work', async (ms: number) => {
      await new Promise((r) => setTimeout(r, ms));
      return ms;
    });
    rt.events.on('completed', (e) => done.add(e.id));
    const before = await rt.submitMany(Array.from({ length: 40 }, (_, i) => ({ type: 'work', data: 10 + (i % 5) })));

    // Stopped: a submit is refused with STORE_UNAVAILABLE, nothing half-accepted.
    await redis.stop();
    await assert.rejects(rt.submit({ type: 'work', data: 1 }), { code: 'STORE_UNAVAILABLE' });
    await until(() => !rt.store.available, 'the runtime to notice');
    await assert.rejects(rt.submit({ type: 'work', data: 1 }), { code: 'STORE_UNAVAILABLE' });

    // Restarted: the runtime resumes without help; everything acknowledged completes.
    await redis.start();
    await until(() => rt.store.available, 'the store to come back');
    const after = await rt.submitMany(Array.from({ length: 10 }, () => ({ type: 'work', data: 5 })));
    await until(() => [...before, ...after].every((id) => done.has(id)), 'every acknowledged payload to complete');

    // Paused (SIGSTOP): commands time out, submits are refused; continued, work goes on.
    redis.pause();
    await assert.rejects(rt.submit({ type: 'work', data: 1 }), { code: 'STORE_UNAVAILABLE' });
    redis.resume();
    await until(() => rt.store.available, 'the store after the pause');
    const last = await rt.submit({ type: 'work', data: 1 });
    assert.equal(await rt.waitFor(last), 1);
    assert.ok(rt.store.stats().journalFailures >= 2, 'each outage was counted');
    await rt.stop();
    runtime = undefined;
  } finally {
    await runtime?.stop().catch(() => {});
    redis.resume();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
