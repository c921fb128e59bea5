/**
 * Two node processes on a real Redis both declare the same every-second schedule: each tick fires
 * once (one payload, run once), none missing; a SIGKILL of a node loses no tick, since the other
 * node's timers fire the same ticks and the cursor in Redis says which are done.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withCluster, until } from './cluster-support.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/schedule-node.ts', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function startNode(prefix: string, nodeId: string): { child: ChildProcess; ready: Promise<void>; exited: Promise<unknown> } {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, prefix, nodeId], { stdio: ['ignore', 'pipe', 'inherit'] });
  const ready = new Promise<void>((resolve) => child.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('"ready"') && resolve()));
  const exited = new Promise((resolve) => child.on('exit', resolve));
  return { child, ready, exited };
}

interface Firing { tick: number; id: string; node: string }

async function firings(redis: import('ioredis').Redis, prefix: string): Promise<Firing[]> {
  return (await redis.lrange(`${prefix}:fired`, 0, -1)).map((line) => {
    const [tick, id, node] = line.split(' ') as [string, string, string];
    return { tick: Number(tick), id, node };
  });
}

/** Every tick from the first to the last, exactly once each, each with its own payload. */
function assertContiguous(fired: readonly Firing[]): void {
  const ticks = fired.map((f) => f.tick).sort((a, b) => a - b);
  assert.equal(new Set(ticks).size, ticks.length, 'no tick fired twice');
  for (let i = 1; i < ticks.length; i++) assert.equal(ticks[i]! - ticks[i - 1]!, 1_000, `no tick missing after ${ticks[i - 1]}`);
  assert.equal(new Set(fired.map((f) => f.id)).size, fired.length, 'each tick its own payload');
}

test('an every-second schedule declared on two nodes fires once per second for 10 s, none twice, none missing', { timeout: 60_000 }, withCluster('sched2', async ({ keys, redis }) => {
  const prefix = keys.prefix;
  const nodes = [startNode(prefix, 'n1'), startNode(prefix, 'n2')];
  try {
    await Promise.all(nodes.map((n) => n.ready));
    const from = (await firings(redis, prefix)).length;
    await sleep(10_000);
    const fired = (await firings(redis, prefix)).slice(from);
    assert.ok(fired.length >= 9 && fired.length <= 11, `about ten ticks in 10 s, got ${fired.length}`);
    assertContiguous(await firings(redis, prefix));
    for (const n of nodes) n.child.kill('SIGTERM');
    await Promise.all(nodes.map((n) => n.exited));
    // Each fired payload ran exactly once, on whichever node owned its partition.
    const runs = (await redis.lrange(`${prefix}:runs`, 0, -1)).map((line) => line.split(' ')[1]);
    const all = await firings(redis, prefix);
    assert.equal(new Set(runs).size, runs.length, 'no payload ran twice');
    const firedIds = new Set(all.map((f) => f.id));
    assert.ok(runs.every((id) => firedIds.has(id!)), 'nothing ran that was not a firing');
    assert.ok(all.slice(0, -2).every((f) => runs.includes(f.id)), 'every fired payload ran');
  } finally {
    for (const n of nodes) n.child.kill('SIGKILL');
  }
}));

test('a SIGKILL of the node that fires loses no tick: the other node fires the next ones', { timeout: 60_000 }, withCluster('schedkill', async ({ keys, redis }) => {
  const prefix = keys.prefix;
  const nodes = new Map([['n1', startNode(prefix, 'n1')], ['n2', startNode(prefix, 'n2')]]);
  try {
    await Promise.all([...nodes.values()].map((n) => n.ready));
    await sleep(3_500);
    const latest = (await firings(redis, prefix)).at(-1);
    assert.ok(latest, 'ticks fired before the kill');
    const victim = nodes.get(latest.node)!;
    victim.child.kill('SIGKILL');
    await victim.exited;
    const killedAt = Date.now();
    const survivor = latest.node === 'n1' ? 'n2' : 'n1';
    await until(async () => (await firings(redis, prefix)).filter((f) => f.node === survivor && f.tick > killedAt).length >= 4, 'the survivor firing', 15_000);
    const fired = await firings(redis, prefix);
    assertContiguous(fired);
    assert.ok(fired.at(-1)!.tick - latest.tick >= 4_000);
    nodes.get(survivor)!.child.kill('SIGTERM');
    await nodes.get(survivor)!.exited;
  } finally {
    for (const n of nodes.values()) n.child.kill('SIGKILL');
  }
}));
