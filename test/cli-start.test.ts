import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/cli/main.ts';
import { parseStartArgs, startServer } from '../src/cli/commands/start.ts';
import { captureIo, closedPort, eventually, samples, spawnTriage, within } from './admin-support.ts';
import { dropPrefix, freshPrefix, REDIS_URL } from './redis-support.ts';

describe('triage --help', () => {
  test('lists start and inspect, and each has its own help', async () => {
    const io = captureIo();
    assert.equal(await main(['--help'], io), 0);
    assert.match(io.out(), /^\s+start\s+run a runtime with its admin endpoint/m);
    assert.match(io.out(), /^\s+inspect\s+show the actor tree and queues/m);
    for (const [name, first] of [['start', /^usage: triage start \[options\]/], ['inspect', /^usage: triage inspect \[url\] \[options\]/]] as const) {
      const each = captureIo();
      assert.equal(await main([name, '--help'], each), 0);
      assert.match(each.out(), first);
      assert.match(each.out(), /exit codes: 0 /);
    }
  });

  test('npm start runs triage start with the demo workload', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> };
    assert.equal(pkg.scripts['start'], 'node bin/triage.js start --demo');
  });
});

describe('triage start: bad usage and configuration exit 2, failures exit 1', () => {
  test('bad flags are named, with the usage', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--bogus'], /Unknown option '--bogus'/],
      [['--port', '70000'], /--port must be a whole number between 0 and 65535, got "70000"/],
      [['--partitions', '0'], /--partitions must be a whole number between 1 and 65536/],
      [['--concurrency', 'many'], /--concurrency must be a whole number/],
      [['--redis', 'http://localhost'], /--redis must be a redis:\/\/ or rediss:\/\/ URL/],
      [['--redis-prefix', 'x'], /--redis-prefix goes with --redis/],
      [['--cluster'], /--cluster needs --redis \(the Redis every node shares\)/],
      [['--node-id', 'n1'], /--node-id and --lease-ttl go with --cluster/],
      [['--redis', 'redis://db:6379', '--lease-ttl', '2000'], /--node-id and --lease-ttl go with --cluster/],
      [['--cluster', '--redis', 'redis://db:6379', '--node-id', 'node 1'], /--node-id must be letters, digits, \. : _ -, got "node 1"/],
      [['--cluster', '--redis', 'redis://db:6379', '--lease-ttl', '50'], /--lease-ttl must be a whole number between 100 and 3600000, got "50"/],
      [['--workflows', '/nonexistent/folder'], /--workflows \/nonexistent\/folder is not a folder/],
      [['--token-file', '/nonexistent/token'], /cannot read --token-file \/nonexistent\/token: ENOENT/],
      [['stray'], /Unexpected argument 'stray'/],
    ];
    for (const [args, message] of cases) {
      const io = captureIo();
      assert.equal(await main(['start', ...args], io), 2, args.join(' '));
      assert.match(io.err(), message);
      assert.match(io.err(), /usage: triage start/);
    }
  });

  test('environment variables configure what flags do; flags win', () => {
    const env = { TRIAGE_ADMIN_PORT: '9000', TRIAGE_ADMIN_HOST: '::1', TRIAGE_ADMIN_TOKEN: 'env-token-0123456789', TRIAGE_REDIS_URL: 'redis://db:6379', TRIAGE_REDIS_PREFIX: 'p1' };
    const fromEnv = parseStartArgs([], env, tmpdir());
    assert.deepEqual([fromEnv.port, fromEnv.host, fromEnv.token, fromEnv.runtime.redis], [9000, '::1', 'env-token-0123456789', { url: 'redis://db:6379', prefix: 'p1' }]);
    assert.equal(parseStartArgs(['--port', '0'], env, tmpdir()).port, 0);
    const defaults = parseStartArgs([], {}, tmpdir());
    assert.deepEqual([defaults.port, defaults.host, defaults.token, defaults.runtime.redis, defaults.workflows], [7070, '127.0.0.1', undefined, undefined, undefined]);
    assert.equal(parseStartArgs(['--demo'], {}, tmpdir()).runtime.concurrency, 8);
  });

  test('--cluster makes the runtime a cluster node on the Redis (and prefix) given, with its node id and lease ttl', () => {
    const full = parseStartArgs(['--cluster', '--redis', 'redis://db:6379', '--redis-prefix', 'p1', '--node-id', 'node-1', '--lease-ttl', '2000'], {}, tmpdir());
    assert.deepEqual(full.runtime, { cluster: { redis: { url: 'redis://db:6379', prefix: 'p1' }, nodeId: 'node-1', leaseTtlMs: 2000 } });
    // Without the optional flags the cluster's defaults apply (node id <host>-<pid>, 5 s leases).
    assert.deepEqual(parseStartArgs(['--cluster', '--redis', 'redis://db:6379'], {}, tmpdir()).runtime, { cluster: { redis: { url: 'redis://db:6379' } } });
    const env = { TRIAGE_REDIS_URL: 'redis://db:6379', TRIAGE_REDIS_PREFIX: 'p2', TRIAGE_NODE_ID: 'env-node' };
    assert.deepEqual(parseStartArgs(['--cluster'], env, tmpdir()).runtime, { cluster: { redis: { url: 'redis://db:6379', prefix: 'p2' }, nodeId: 'env-node' } });
    assert.equal(parseStartArgs(['--cluster', '--node-id', 'flag-node'], env, tmpdir()).runtime.cluster?.nodeId, 'flag-node');
    // Without --cluster the same Redis is this runtime's own store.
    assert.deepEqual(parseStartArgs([], env, tmpdir()).runtime, { redis: { url: 'redis://db:6379', prefix: 'p2' } });
  });

  test('a public address without a token refuses to start (exit 2)', async () => {
    const io = captureIo();
    const empty = mkdtempSync(join(tmpdir(), 'triage-empty-'));
    try {
      assert.equal(await main(['start', '--host', '0.0.0.0', '--port', '0', '--workflows', empty], io), 2);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
    assert.match(io.err(), /^triage start: refusing to serve the admin endpoint on 0\.0\.0\.0, which other machines can reach, without a token/);
  });

  test('a Redis that cannot be reached fails the start (exit 1)', async () => {
    const io = captureIo();
    assert.equal(await main(['start', '--port', '0', '--redis', `redis://127.0.0.1:${await closedPort()}`], io), 1);
    assert.match(io.err(), /triage start: cannot recover from the store: .*ECONNREFUSED/);
  });
});

describe('triage start: the workflow folder', () => {
  test('handlers modules are registered, definitions listed, register(runtime) called; a broken module fails the start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'triage-workflows-'));
    try {
      // A definition marks itself with kind 'triage.workflow' (what the DSL's workflow(…) builds).
      writeFileSync(join(dir, 'greet.ts'), `export default { kind: 'triage.workflow', name: 'greet' } as const;\n`);
      writeFileSync(join(dir, 'greet.handlers.ts'), [
        `export const handlers = { 'greet.say': (d: { name: string }) => 'hello ' + d.name };`,
        `export const handlerOptions = { 'greet.say': { retries: 0 } };`,
      ].join('\n'));
      writeFileSync(join(dir, 'a-mail.mjs'), `export async function register(runtime) { runtime.handle('mail', () => 'sent'); }\n`);
      writeFileSync(join(dir, 'c-notes.mjs'), 'export const note = 1;\n');
      writeFileSync(join(dir, 'readme.md'), '# not a module\n');
      const io = captureIo();
      const started = await startServer({ ...parseStartArgs(['--workflows', dir], {}), port: 0 }, io);
      try {
        assert.deepEqual(started.loaded, {
          modules: ['a-mail.mjs', 'c-notes.mjs', 'greet.handlers.ts', 'greet.ts'].map((f) => join(dir, f)),
          handlerTypes: ['greet.say'],
          workflows: ['greet'],
        });
        assert.deepEqual(started.runtime.handlerTypes(), ['mail', 'greet.say']);
        assert.match(io.err(), /c-notes\.mjs exports no workflow definition, handlers or register\(runtime\); nothing to load/);
        const id = await started.runtime.submit({ type: 'greet.say', data: { name: 'Ada' } });
        assert.equal(await started.runtime.waitFor(id), 'hello Ada');
        assert.equal((await fetch(new URL('/api/health/ready', started.admin.url))).status, 200);
      } finally {
        await started.stop();
      }
      writeFileSync(join(dir, 'd-bad.handlers.mjs'), 'export const handlers = { x: 1 };\n');
      await assert.rejects(startServer({ ...parseStartArgs(['--workflows', dir], {}), port: 0 }, captureIo()), { code: 'WORKFLOW_LOAD_FAILED', message: /d-bad\.handlers\.mjs: it must export `handlers`/ });
      rmSync(join(dir, 'd-bad.handlers.mjs'));
      writeFileSync(join(dir, 'e-broken.mjs'), 'export const = ;\n');
      await assert.rejects(startServer({ ...parseStartArgs(['--workflows', dir], {}), port: 0 }, captureIo()), { code: 'WORKFLOW_LOAD_FAILED', message: /cannot load .*e-broken\.mjs: / });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the folder defaults to ./workflows when there is one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'triage-cwd-'));
    try {
      assert.equal(parseStartArgs([], {}, dir).workflows, undefined);
      mkdirSync(join(dir, 'workflows'));
      assert.equal(parseStartArgs([], {}, dir).workflows, join(dir, 'workflows'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('triage start as a process', () => {
  test('--demo prints the admin URL, runs the main job and an album workflow live, and exits 0 on SIGTERM', async () => {
    const triage = spawnTriage(['start', '--demo', '--port', '0', '--partitions', '4'], { TRIAGE_ADMIN_TOKEN: 'process-token-0123456789' });
    try {
      const [, url] = await triage.waitFor(/admin page (http:\/\/127\.0\.0\.1:\d+\/)\n/);
      assert.match(triage.stdout(), /runtime triage-\w+ running \(4 partitions, 8 slots, in memory\)/);
      assert.match(triage.stdout(), /demo workload running/);
      assert.doesNotMatch(triage.stdout(), /operator actions are off/);
      const ready = await fetch(new URL('api/health/ready', url));
      assert.equal(ready.status, 200);
      const completed = await eventually('demo payloads to complete', async () => {
        const all = samples(await (await fetch(new URL('metrics', url))).text());
        const done = all.filter((s) => s.name === 'triage_payloads_completed_total').reduce((n, s) => n + s.value, 0);
        return done > 0 ? done : undefined;
      });
      assert.ok(completed > 0);
      // On a pipe, each wave ends with one line: what ran in which tier, each tier's wait p50/p99.
      const [wave] = await triage.waitFor(/^triage: demo · wave 1 · .*\n/m, 30_000);
      const tiers = /^triage: demo · wave 1 · ran, wait p50\/p99 ms: critical (\d+) [\d.]+\/[\d.]+, high (\d+) [\d.]+\/[\d.]+, medium (\d+) [\d.]+\/[\d.]+, low (\d+) [\d.]+\/[\d.]+ · albums 1\n$/.exec(wave);
      assert.ok(tiers, wave);
      // Load may move low work up a tier as it ages; every payload of the wave ran all the same.
      assert.equal(tiers.slice(1).reduce((n, ran) => n + Number(ran), 0), 400 + 60 + 40, wave);
      // The demo runs a workflow too, so the Workflows panel is not empty.
      const workflows = (await (await fetch(new URL('api/workflows', url))).json()) as { instances: Array<{ workflow: string; status: string }> };
      assert.ok(workflows.instances.some((w) => w.workflow === 'publish-album' && w.status === 'completed'), JSON.stringify(workflows));
      triage.child.kill('SIGTERM');
      const { code } = await within('exit after SIGTERM', triage.exited);
      assert.equal(code, 0, triage.stderr());
      assert.match(triage.stdout(), /SIGTERM, stopping\ntriage: stopped\n$/);
    } finally {
      triage.kill();
    }
  });

  test('--redis runs durable, reports the store in readiness, and stops on SIGINT', async () => {
    const prefix = freshPrefix('cli-start');
    const triage = spawnTriage(['start', '--port', '0', '--redis', REDIS_URL, '--redis-prefix', prefix]);
    try {
      const [, url] = await triage.waitFor(/admin page (http:\/\/127\.0\.0\.1:\d+\/)\n/);
      assert.match(triage.stdout(), /durable on redis:\/\/[^,]+, 0 records recovered/);
      await triage.waitFor(/operator actions are off \(no TRIAGE_ADMIN_TOKEN\)/); // printed just after the URLs
      const ready = (await (await fetch(new URL('api/health/ready', url))).json()) as { ready: boolean; checks: Array<{ name: string; ok: boolean; detail: string }> };
      assert.equal(ready.ready, true);
      assert.deepEqual(ready.checks.find((c) => c.name === 'store'), { name: 'store', ok: true, detail: 'durable store available' });
      triage.child.kill('SIGINT');
      assert.equal((await within('exit after SIGINT', triage.exited)).code, 0, triage.stderr());
    } finally {
      triage.kill();
      await dropPrefix(prefix);
    }
  });

  test('--cluster joins as the named node, serves every partition alone, shows it at /api/cluster, and stops on SIGTERM', async () => {
    const prefix = freshPrefix('cli-cluster');
    const triage = spawnTriage(['start', '--port', '0', '--partitions', '4', '--cluster', '--redis', REDIS_URL, '--redis-prefix', prefix, '--node-id', 'cli-node', '--lease-ttl', '1000']);
    try {
      const [, url] = await triage.waitFor(/admin page (http:\/\/127\.0\.0\.1:\d+\/)\n/);
      assert.match(triage.stdout(), /\(4 partitions, \d+ slots, node cli-node of the cluster on redis:\/\/[^)]+\)/);
      const view = await eventually('the node to own every partition', async () => {
        const json = (await (await fetch(new URL('api/cluster', url))).json()) as { node: string; nodes: Array<{ id: string }>; owners: Array<{ partition: number; node: string }> };
        return json.owners.length === 4 ? json : undefined;
      });
      assert.equal(view.node, 'cli-node');
      assert.deepEqual(view.nodes.map((n) => n.id), ['cli-node']);
      assert.deepEqual(view.owners.map((o) => [o.partition, o.node]), [[0, 'cli-node'], [1, 'cli-node'], [2, 'cli-node'], [3, 'cli-node']]);
      assert.match(await (await fetch(new URL('metrics', url))).text(), /^triage_pool_slots\{runtime="[^"]+",node="cli-node"\} \d+$/m);
      triage.child.kill('SIGTERM');
      assert.equal((await within('exit after SIGTERM', triage.exited)).code, 0, triage.stderr());
    } finally {
      triage.kill();
      await dropPrefix(prefix);
    }
  });

  test('a port already in use fails with exit 1 and says so', async () => {
    const first = spawnTriage(['start', '--port', '0']);
    try {
      const [, port] = await first.waitFor(/admin page http:\/\/127\.0\.0\.1:(\d+)\//);
      const second = spawnTriage(['start', '--port', port as string]);
      const { code } = await within('the second start to give up', second.exited);
      assert.equal(code, 1);
      assert.match(second.stderr(), new RegExp(`triage start: 127\\.0\\.0\\.1:${port} is already in use \\(try --port 0\\)`));
      first.child.kill('SIGTERM');
      assert.equal((await within('exit after SIGTERM', first.exited)).code, 0);
    } finally {
      first.kill();
    }
  });
});
