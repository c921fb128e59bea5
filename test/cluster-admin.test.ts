// The admin endpoint of a clustered runtime: any node shows the live nodes, which node owns which
// partition and every node's actor tree; each node's /metrics carries its node id. Two clustered
// runtimes in this process on a real Redis, each with its own connections.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Redis } from 'ioredis';
import { chromium, type Browser } from 'playwright-core';
import { ownerOf } from '../src/cluster/assignment.ts';
import { Membership } from '../src/cluster/membership.ts';
import { createRuntime, silentLogger, type Runtime } from '../src/index.ts';
import type { ActorInfo } from '../src/core/actor-system.ts';
import { eventually, samples, serve } from './admin-support.ts';
import { dropPrefix, freshPrefix, REDIS_URL } from './redis-support.ts';

const PARTITIONS = 8;
/** Runtimes in one process need names of their own (each is an actor system named after it). */
const nameOf = (id: string) => `shop-${id}`;
const NODES = ['a', 'b'] as const;
const CHROMIUM = '/usr/bin/chromium';

interface Node {
  readonly id: string;
  readonly rt: Runtime;
  readonly url: string;
}

/** What the assignment gives `id` among `ids`: where the partitions settle. */
const assigned = (id: string, ids: readonly string[]) => Array.from({ length: PARTITIONS }, (_, p) => p).filter((p) => ownerOf(p, ids) === id);

const partitionPaths = (id: string, partitions: readonly number[]) => partitions.map((p) => `/${nameOf(id)}/partition-${p}`).sort();
const partitionActorsOf = (tree: readonly ActorInfo[]) => tree.filter((a) => a.kind === 'partition').map((a) => a.path).sort();

async function getJson(url: string, path: string): Promise<{ status: number; json: any; ms: number }> {
  const started = Date.now();
  const response = await fetch(new URL(path, url));
  return { status: response.status, json: await response.json(), ms: Date.now() - started };
}

/**
 * Two clustered runtimes on a fresh prefix, each serving its admin endpoint, once each serves exactly
 * the partitions the assignment gives it; stopped (and the prefix dropped) after `fn`.
 */
function withCluster(label: string, fn: (nodes: Node[], prefix: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const prefix = freshPrefix(`cluster-admin-${label}`);
    const runtimes: Runtime[] = [];
    try {
      for (const id of NODES) {
        runtimes.push(createRuntime({
          name: nameOf(id), partitions: PARTITIONS, logger: silentLogger,
          cluster: { redis: { url: REDIS_URL, prefix }, nodeId: id, leaseTtlMs: 1_000 },
          // With the option, metrics are created with the runtime, before it has joined the cluster.
          ...(id === 'b' ? { metrics: {} } : {}),
        }));
      }
      await Promise.all(runtimes.map((rt) => rt.ready()));
      await eventually('the partitions to settle', () =>
        runtimes.every((rt, i) => JSON.stringify(rt.cluster!.local()) === JSON.stringify(assigned(NODES[i]!, NODES))) || undefined);
      const nodes: Node[] = [];
      for (const [i, rt] of runtimes.entries()) nodes.push({ id: NODES[i]!, rt, url: (await rt.admin.listen({ port: 0 })).url });
      await fn(nodes, prefix);
    } finally {
      for (const rt of runtimes) await rt.stop().catch(() => {});
      await dropPrefix(prefix);
    }
  };
}

describe('admin: the cluster view', () => {
  test('any node lists both nodes, one owner per partition (as each node serves them) and both nodes\' actor trees', { timeout: 30_000 }, withCluster('view', async (nodes) => {
    for (const asked of nodes) {
      const { status, json } = await getJson(asked.url, '/api/cluster');
      assert.equal(status, 200);
      assert.equal(json.clustered, true);
      assert.equal(json.node, asked.id, 'the answering node names itself');
      assert.equal(json.partitions, PARTITIONS);
      assert.deepEqual(json.nodes.map((n: any) => n.id).sort(), [...NODES]);
      for (const info of json.nodes) {
        assert.equal(info.pid, process.pid);
        assert.ok(info.expiresAt > Date.now(), `node ${info.id} is live`);
      }

      const owners = json.owners as Array<{ partition: number; node: string; token: number; ttlMs: number }>;
      assert.deepEqual(owners.map((o) => o.partition).sort((x, y) => x - y), Array.from({ length: PARTITIONS }, (_, p) => p), 'every partition exactly once');
      for (const node of nodes) {
        assert.deepEqual(owners.filter((o) => o.node === node.id).map((o) => o.partition).sort((x, y) => x - y), node.rt.cluster!.local(), `owners of ${node.id}`);
      }
      for (const owner of owners) {
        assert.ok(Number.isInteger(owner.token) && owner.token > 0, `a fencing token for partition ${owner.partition}`);
        assert.ok(owner.ttlMs > 0 && owner.ttlMs <= 1_000, `lease time left of partition ${owner.partition}: ${owner.ttlMs}`);
      }

      const homes = json.homes as Array<{ home: string; node: string | undefined }>;
      assert.deepEqual(homes.map((h) => h.node).sort(), [...NODES], 'one home per node, each held by its node');
      for (const node of nodes) assert.ok(homes.some((h) => h.home === node.rt.cluster!.home && h.node === node.id), `the home of ${node.id}`);

      assert.deepEqual(Object.keys(json.trees).sort(), [...NODES]);
      for (const node of nodes) {
        const tree = json.trees[node.id];
        assert.ok(Array.isArray(tree), `the tree of ${node.id}: ${JSON.stringify(tree)}`);
        // Each node runs only its own partitions' actors: the tree shown is that node's, not the one answering.
        assert.deepEqual(partitionActorsOf(tree), partitionPaths(node.id, node.rt.cluster!.local()), `partition actors of ${node.id}`);
        assert.deepEqual(partitionActorsOf(tree), partitionActorsOf(node.rt.tree()));
      }
    }
  }));

  test('a live node that does not answer shows an error in place of its tree; the others are still shown', { timeout: 30_000 }, withCluster('silent', async (nodes) => {
    const [a] = nodes as [Node, Node];
    const redis = new Redis(REDIS_URL);
    // Heartbeats like a node but runs nothing, as a node whose process is stuck would.
    const silent = new Membership({ client: redis, keys: a.rt.cluster!.engine.keys, nodeId: 'silent', heartbeatMs: 1_000, ttlMs: 30_000 });
    try {
      await silent.join();
      const { status, json, ms } = await getJson(a.url, '/api/cluster');
      assert.equal(status, 200);
      assert.deepEqual(json.nodes.map((n: any) => n.id).sort(), ['a', 'b', 'silent']);
      assert.match(json.trees.silent?.error ?? '', /^node silent did not answer within 1000 ms$/);
      for (const id of NODES) assert.ok(Array.isArray(json.trees[id]), `the tree of ${id} is still there`);
      assert.ok(ms < 5_000, `the view waited ${ms} ms`);
    } finally {
      await silent.leave();
      await redis.quit();
    }
  }));

  test('every node\'s partitions from any node, each marked with its node; its admin URL is registered as it listens', { timeout: 30_000 }, withCluster('all-partitions', async (nodes) => {
    const { status, json } = await getJson(nodes[0]!.url, '/api/partitions?nodes=all');
    assert.equal(status, 200);
    assert.deepEqual(json.partitions.map((p: { partition: number; node: string }) => [p.partition, p.node]),
      Array.from({ length: PARTITIONS }, (_, p) => [p, ownerOf(p, NODES)]));
    assert.deepEqual(json.silent, []);
    assert.equal((await getJson(nodes[0]!.url, '/api/partitions?nodes=some')).status, 400);
    const view = await eventually('both admin URLs in the cluster view', async () => {
      const { json: cluster } = await getJson(nodes[1]!.url, '/api/cluster');
      return cluster.nodes.every((n: { adminUrl?: string }) => n.adminUrl) ? cluster : undefined;
    });
    assert.deepEqual(view.nodes.map((n: { id: string; adminUrl: string }) => [n.id, n.adminUrl]).sort(), nodes.map((n) => [n.id, n.url]));
  }));

  test('an embedded runtime answers { clustered: false }', async () => {
    const s = await serve({ partitions: 2 });
    try {
      const { status, json } = await s.call('/api/cluster');
      assert.equal(status, 200);
      assert.deepEqual(json, { clustered: false });
      assert.ok((await s.call('/api')).json.endpoints.some((e: any) => e.method === 'GET' && e.path === '/api/cluster'), '/api lists it');
    } finally {
      await s.close();
    }
  });
});

describe('metrics: the node label', () => {
  test('every triage series of a node carries node="<its id>"; the exposition stays valid', { timeout: 30_000 }, withCluster('metrics', async (nodes) => {
    for (const node of nodes) {
      const response = await fetch(new URL('/metrics', node.url));
      assert.equal(response.status, 200);
      const text = await response.text();
      const own = samples(text).filter((s) => s.name.startsWith('triage_'));
      assert.ok(own.length > 50, `triage series on ${node.id}: ${own.length}`);
      for (const sample of own) {
        assert.equal(sample.labels['node'], node.id, `${sample.name} ${JSON.stringify(sample.labels)} on ${node.id}`);
        assert.equal(sample.labels['runtime'], nameOf(node.id));
      }
      // A partition gauge per partition served here, labelled with this node.
      const depths = own.filter((s) => s.name === 'triage_queue_depth' && s.labels['tier'] === 'low').map((s) => Number(s.labels['partition'])).sort((x, y) => x - y);
      assert.deepEqual(depths, node.rt.cluster!.local());
      const lint = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      assert.notEqual(lint.error && (lint.error as NodeJS.ErrnoException).code, 'ENOENT', 'promtool is not installed (apt-get install prometheus)');
      assert.ok(lint.status === 0 || lint.status === 3, `promtool exited ${lint.status}: ${lint.stdout}${lint.stderr}`);
    }
  }));

  test('an embedded runtime has no node label', async () => {
    const s = await serve({ partitions: 2 });
    try {
      const labelled = samples((await s.call('/metrics')).text).filter((sample) => 'node' in sample.labels);
      assert.deepEqual(labelled, []);
    } finally {
      await s.close();
    }
  });
});

describe('the admin page: the cluster section', () => {
  let browser: Browser;

  before(async () => {
    if (!existsSync(CHROMIUM)) assert.fail(`${CHROMIUM} is missing: install Debian's "chromium" package (apt-get install chromium)`);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'], timeout: 30_000 });
  });
  after(async () => {
    await browser?.close();
  });

  /** "0–2, 5" → [0, 1, 2, 5] */
  const expand = (text: string) => text.split(', ').flatMap((part) => {
    const [from, to = from] = part.split('–').map(Number) as [number, number?];
    return Array.from({ length: to! - from + 1 }, (_, i) => from + i);
  });

  test('shows each node with the partitions it owns and its actor tree', { timeout: 30_000 }, withCluster('page', async (nodes) => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    try {
      await page.goto(`${nodes[0]!.url}?refresh=200`);
      await page.locator('#cluster-section').waitFor({ state: 'visible', timeout: 10_000 });
      for (const node of nodes) {
        const row = page.locator(`#cluster tr[data-node="${node.id}"]`);
        await row.waitFor({ timeout: 10_000 });
        assert.deepEqual(expand((await row.locator('[data-col="partitions"]').textContent()) ?? ''), node.rt.cluster!.local());
        assert.equal(await row.locator('[data-col="homes"]').textContent(), 'own', `${node.id} runs its own home`);
        for (const path of partitionPaths(node.id, node.rt.cluster!.local())) {
          assert.equal(await page.locator(`#cluster-trees [data-node="${node.id}"] li[data-path="${path}"]`).count(), 1, `${path} under ${node.id}`);
        }
      }
      assert.match((await page.locator(`#cluster tr[data-node="${nodes[0]!.id}"]`).textContent()) ?? '', /this node/);
      assert.match((await page.locator('#cluster-summary').textContent()) ?? '', new RegExp(`^2 nodes · ${PARTITIONS}/${PARTITIONS} partitions leased`));
      // The header names the node answering; every node links its own page.
      assert.equal(await page.locator('#node').textContent(), `node ${nodes[0]!.id}`);
      for (const node of nodes) {
        await page.locator(`#cluster tr[data-node="${node.id}"] a[href="${node.url}"]`).waitFor({ timeout: 10_000 });
      }
      // The queue table shows every node's partitions on request.
      for (const node of nodes) node.rt.handle('held', (_, ctx) => new Promise((resolve) => ctx.signal.addEventListener('abort', resolve)));
      await nodes[1]!.rt.submitMany(Array.from({ length: 40 }, () => ({ type: 'held', data: null })));
      await page.locator('#all-nodes').check();
      await page.locator('#queues td', { hasText: new RegExp(`@${nodes[1]!.id}$`) }).first().waitFor({ timeout: 10_000 });
      assert.deepEqual(problems, []);
    } finally {
      await page.close();
    }
  }));

  test('is hidden when the runtime is embedded', async () => {
    const s = await serve({ partitions: 2 });
    const page = await browser.newPage();
    try {
      await page.goto(`${s.admin.url}?refresh=100`);
      await page.locator('body[data-state="live"]').waitFor({ timeout: 10_000 });
      assert.equal(await page.locator('#cluster-section').isHidden(), true);
    } finally {
      await page.close();
      await s.close();
    }
  });
});
