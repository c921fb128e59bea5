// Homes: the payloads a node's dependency graph holds and its workflow instances outlive the node.
// Three node processes and a real Redis; the node that took the work is killed and never comes back,
// or paused past its home's lease. And a home is never adopted while its node is still starting.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import { FencedRedisEngine } from '../src/cluster/fenced-journal.ts';
import { HomeKeeper, type HomeHost } from '../src/cluster/homes.ts';
import { homeOfId, withHome } from '../src/core/ids.ts';
import { RedisEngine } from '../src/persistence/redis.ts';
import { NodeProcess } from './cluster-process.ts';
import { withCluster } from './cluster-support.ts';
import { dropPrefix, freshPrefix, REDIS_URL } from './redis-support.ts';

const redis = new Redis(REDIS_URL);
after(() => redis.quit());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Tags of every recorded handler start (see test/fixtures/cluster-node.ts), with the node that ran it. */
async function starts(prefix: string): Promise<Array<{ node: string; tag: string }>> {
  return (await redis.lrange(`${prefix}:starts`, 0, -1)).map((line) => {
    const [node = '', , , tag = ''] = line.split(' ');
    return { node, tag };
  });
}

async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined>, seen: () => Promise<unknown> = async () => ''): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; seen: ${JSON.stringify(await seen())}`);
    await sleep(100);
  }
}

test('a dead node\'s held dependents and running workflows go on at the node that adopts its home, which then deletes it', { timeout: 90_000 }, async () => {
  const prefix = freshPrefix('cluster-homes');
  const homeTtl = 1_500;
  const nodes = ['a', 'b', 'c'].map((name) => new NodeProcess(prefix, name, 600, homeTtl));
  const [a, b, c] = nodes as [NodeProcess, NodeProcess, NodeProcess];
  try {
    await Promise.all(nodes.map((n) => n.ready));
    const homesKey = `${prefix}:c:{homes}`;
    assert.equal((await redis.smembers(homesKey)).length, 3, 'one home per node process');
    // On a: a chain whose later links wait in a's dependency graph, and workflows whose first step is slow.
    const chain = await a.send<{ ids: string[] }>({ cmd: 'submit', n: 5, ms: 400, tag: 'chain', chain: true });
    const flows = await a.send<{ instances: string[] }>({ cmd: 'workflow', n: 3, tag: 'wf', ms: 1_000 });
    await sleep(300);
    await a.kill();

    // Every link of the chain and every workflow's last step run, although a never comes back.
    const expected = [...chain.ids.map((_, i) => `chain-${i}`), ...flows.instances.map((_, i) => `wf-${i}:sum`)];
    const ran = await until('the chain and the workflows to finish elsewhere', 45_000, async () => {
      const tags = new Set((await starts(prefix)).map((s) => s.tag));
      return expected.every((tag) => tags.has(tag)) ? tags : undefined;
    }, () => starts(prefix));
    assert.ok(ran.has('wf-0:fan:2'), 'the fan-out ran before the last step');
    const lateRuns = (await starts(prefix)).filter((s) => s.tag === 'chain-4' || s.tag.endsWith(':sum'));
    assert.ok(lateRuns.every((s) => s.node !== 'a'), 'what a\'s home released after the kill ran on the living nodes');

    // The last link's result is readable anywhere once it ran: it lives in a partition now. The dead
    // node's workflow instances are found on the node that adopted them, even once their home is gone.
    const last = chain.ids.at(-1)!;
    const waited = await b.send<{ results: Array<{ tag: string }>; outputs: Array<{ tag: string }> }>({ cmd: 'wait', ids: [last], instances: flows.instances });
    assert.equal(waited.results[0]?.tag, 'chain-4');
    assert.deepEqual(waited.outputs.map((o) => o.tag), flows.instances.map((_, i) => `wf-${i}:sum`));

    // With nothing left in it, the adopted home is deleted: the homes of b and c remain, and no key of a's.
    const left = await until('a\'s home to be deleted', 20_000, async () => {
      const homes = await redis.smembers(homesKey);
      return homes.length === 2 ? homes : undefined;
    });
    assert.ok(left.every((home) => !home.startsWith('a.')), `left: ${left.join(', ')}`);
    const aKeys = (await redis.keys(`${prefix}:*`)).filter((key) => /home-a\./.test(key));
    assert.deepEqual(aKeys, [], 'nothing of a\'s home is left in Redis');
    await Promise.all([b.stop(), c.stop()]);
  } finally {
    await Promise.all(nodes.map((n) => n.kill()));
    await dropPrefix(prefix);
  }
});

test('a node paused past its home\'s lease stops itself when it wakes, while another node runs its home', { timeout: 90_000 }, async () => {
  const prefix = freshPrefix('cluster-home-lost');
  const nodes = ['a', 'b', 'c'].map((name) => new NodeProcess(prefix, name, 400, 1_200));
  const [a, b, c] = nodes as [NodeProcess, NodeProcess, NodeProcess];
  try {
    await Promise.all(nodes.map((n) => n.ready));
    const homesKey = `${prefix}:c:{homes}`;
    const home = (await redis.smembers(homesKey)).find((h) => h.startsWith('b.'));
    assert.ok(home, 'b has a home');
    const chain = await b.send<{ ids: string[] }>({ cmd: 'submit', n: 4, ms: 300, tag: 'held', chain: true });
    b.signal('SIGSTOP');
    const adopter = await until('b\'s home to be adopted', 20_000, async () => {
      const node = await redis.hget(`${prefix}:c:lease:{home-${home}}`, 'node');
      return node === 'a' || node === 'c' ? node : undefined;
    });
    b.signal('SIGCONT');
    // An unref'd timer: it must not keep this process alive once b has exited.
    const code = await Promise.race([b.exited, new Promise((r) => setTimeout(r, 15_000, 'still running').unref())]);
    assert.equal(code, 3, 'b stopped itself: its home was no longer its own');
    const ran = await until('the held chain to run', 30_000, async () => {
      const list = await starts(prefix);
      return chain.ids.every((_, i) => list.some((s) => s.tag === `held-${i}`)) ? list : undefined;
    }, () => starts(prefix));
    assert.ok(ran.some((s) => s.tag === 'held-3' && s.node !== 'b'), `the last link ran on a or c (home adopted by ${adopter})`);
    await Promise.all([a.stop(), c.stop()]);
  } finally {
    await Promise.all(nodes.map((n) => n.kill()));
    await dropPrefix(prefix);
  }
});

test('a starting node\'s home is never adopted before the node holds it', withCluster('home-start', async ({ keys, open }) => {
  const engines: FencedRedisEngine[] = [];
  const engineOf = () => {
    const engine = new FencedRedisEngine(new RedisEngine({ url: REDIS_URL, prefix: keys.prefix }));
    engines.push(engine);
    return engine;
  };
  const adopted: string[] = [];
  const host: HomeHost = {
    adopt: async (home) => void adopted.push(home),
    idle: () => false,
    retire: async () => {},
    lost: () => {},
    halt: () => {},
    flushed: async () => {},
    report: () => {},
  };
  const adopter = new HomeKeeper({ client: open(), keys, engine: engineOf(), nodeId: 'adopter', home: 'adopter.1', ttlMs: 5_000, host });
  await adopter.start();
  // The starting node's connection lets the coordinator's node scan for homes to adopt right after
  // the home is listed, the worst moment for the starting node.
  const client = open();
  const scanAfterListing = new Proxy(client, {
    get(target, prop) {
      if (prop === 'sadd') return async (...args: Parameters<Redis['sadd']>) => {
        const added = await target.sadd(...args);
        await adopter.tick(true);
        return added;
      };
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const starting = new HomeKeeper({ client: scanAfterListing, keys, engine: engineOf(), nodeId: 'n', home: 'n.1', ttlMs: 5_000, host });
  try {
    await starting.start();
    assert.deepEqual(adopted, [], 'the adopter found the new home held');
    assert.deepEqual((await client.smembers(keys.homes)).sort(), ['adopter.1', 'n.1']);
  } finally {
    await Promise.all([adopter, starting].map((k) => k.stop({ handover: false })));
    await Promise.all(engines.map((engine) => engine.close()));
  }
}));

test('a workflow instance id names its home; an embedded runtime\'s ids and ids not ours name none', () => {
  assert.equal(homeOfId(withHome('wf-Ab3_x-9', 'node-1:west.lx9k2')), 'node-1:west.lx9k2');
  assert.equal(homeOfId('wf-Ab3_x-9'), undefined);
  assert.equal(homeOfId('wf-x@'), undefined);
  assert.equal(homeOfId('wf-x@not a home'), undefined);
});
