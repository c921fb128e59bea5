import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { main } from '../src/cli/main.ts';
import { fetchSnapshot, renderSnapshot } from '../src/cli/commands/inspect.ts';
import { deferred } from './helpers.ts';
import { captureIo, closedPort, serve, spawnTriage, within, type Served } from './admin-support.ts';

/** One slot: a high payload runs (blocked), two medium ones queue behind it. */
async function busy(): Promise<Served & { running: string; queued: string[]; release(): void }> {
  const s = await serve({ partitions: 3, concurrency: 1 });
  const gate = deferred<void>();
  s.rt.handle('render', async () => gate.promise);
  const running = await s.rt.submit({ type: 'render', priority: 'high', clientId: 'studio' });
  await s.rt.idle();
  const queued = await s.rt.submitMany([{ type: 'render', priority: 'medium' }, { type: 'render', priority: 'medium' }]);
  await s.rt.idle();
  s.clock.advance(2_500);
  await s.rt.idle(); // the coordinator's rounds that the advance fired have settled: mailboxes read 0
  return { ...s, running, queued, release: () => gate.resolve() };
}

describe('triage inspect', () => {
  test('draws the queues per partition and tier, the running payloads, the actor tree and the ledger', async () => {
    const s = await busy();
    try {
      const io = captureIo();
      assert.equal(await main(['inspect', s.admin.url], io), 0, io.err());
      const out = io.out();
      const name = s.rt.options.name;
      assert.match(out, new RegExp(`^Triage ${name} — running · load normal · 0 failed · pool 1/1 busy \\(c0 h1 m0 l0\\)`));
      const running = await s.rt.get(s.running);
      assert.match(out, new RegExp(`^RUNNING  1\\npayload .*\\n${s.running.replace('.', '\\.')}\\s+render\\s+studio\\s+p${running!.partition}\\s+high\\s+1\\s+2\\.5 s$`, 'm'));
      for (const id of s.queued) {
        const view = await s.rt.get(id);
        assert.match(out, new RegExp(`^p${view!.partition}\\s+·\\s+·\\s+\\d \\(2\\.5 s\\)\\s+·`, 'm'), `partition ${view!.partition} shows its medium queue`);
      }
      // The tree lists the engine's other actors (coordinator, analyzer, dependency graph) before the partitions.
      assert.match(out, new RegExp(`^ACTORS  \\d+\\n/${name}  system\\n(?:  .*\\n)*  partition-0  partition  mailbox 0  msgs \\d+  c0 h\\d m\\d l0  running \\d`, 'm'));
      assert.match(out, /^LEDGER  0 entries$/m);
    } finally {
      s.release();
      await s.close();
    }
  });

  test('actors other than partitions show the scalar fields of their summary', async () => {
    const s = await busy();
    try {
      const snapshot = await fetchSnapshot(new URL(s.admin.url));
      const root = snapshot.tree.root;
      const coordinator = { path: `${root.path}/coordinator`, kind: 'coordinator', mailbox: 1, processed: 3, summary: { level: 'elevated', pinned: true, signals: { cpu: 1 } }, children: [] };
      const text = renderSnapshot({ ...snapshot, tree: { ...snapshot.tree, root: { ...root, children: [coordinator, ...root.children] } } });
      assert.match(text, /^  coordinator  coordinator  mailbox 1  msgs 3  level elevated  pinned true$/m);
    } finally {
      s.release();
      await s.close();
    }
  });

  test('--json prints the raw views; the URL may come from TRIAGE_ADMIN_URL and may omit the scheme', async () => {
    const s = await busy();
    try {
      const io = captureIo({ TRIAGE_ADMIN_URL: `127.0.0.1:${s.admin.port}` });
      assert.equal(await main(['inspect', '--json'], io), 0, io.err());
      const snapshot = JSON.parse(io.out()) as Record<string, any>;
      assert.deepEqual(Object.keys(snapshot), ['partitions', 'tree', 'running', 'load', 'ledger', 'workflows', 'failed']);
      assert.equal(snapshot['running'].running[0].id, s.running);
      assert.equal(snapshot['tree'].actors, snapshot['tree'].root.children.length);
      assert.equal(snapshot['tree'].root.children.filter((c: { kind: string }) => c.kind === 'partition').length, 3);
    } finally {
      s.release();
      await s.close();
    }
  });

  test('fits the terminal: the status line with the failed count on top, every section cut with "… N more", no line wider than the window', async () => {
    const s = await serve({ partitions: 4, concurrency: 30, handlerDefaults: { retries: 0 } });
    const gate = deferred<void>();
    try {
      s.rt.handle('hold', async () => gate.promise);
      s.rt.handle('broken', async () => {
        throw new Error('a message long enough to run past the edge of a narrow terminal window, as error messages do');
      });
      await s.rt.submitMany(Array.from({ length: 7 }, () => ({ type: 'broken' })));
      await s.rt.idle();
      await s.rt.submitMany(Array.from({ length: 30 }, () => ({ type: 'hold', priority: 'high' as const, clientId: 'a-client-with-a-rather-long-name' })));
      await s.rt.idle();
      const fetched = await fetchSnapshot(new URL(s.admin.url));
      const instances = Array.from({ length: 12 }, (_, i) => ({
        id: `order-${i}`, workflow: 'order', status: 'running' as const, startedAt: 0, finishedAt: undefined, steps: { total: 4, completed: 1, running: 1, failed: 0 },
      }));
      const snapshot = { ...fetched, workflows: { total: 40, instances } };
      const text = renderSnapshot(snapshot, new Date(), { columns: 80, rows: 30 });
      const lines = text.trimEnd().split('\n');
      if (process.env['SHOW']) console.log(text);
      assert.ok(lines.length <= 29, `${lines.length} lines in a 30-row terminal: the status line cannot scroll off`);
      assert.ok(lines.every((line) => line.length <= 80), 'no line wider than the terminal');
      assert.match(lines[0] as string, new RegExp(`^Triage ${s.rt.options.name} — running · load normal · 7 failed · pool 30/30 busy \\(c0 h…$`), 'cut at the edge, the failed count kept');
      assert.match(text, /^RUNNING {2}30$/m);
      assert.match(text, /^ {2}… \d+ more running$/m);
      assert.match(text, /^FAILED {2}7 failed for good, newest first$/m);
      assert.match(text, /^ {2}… \d+ more failed$/m);
      assert.match(text, /^WORKFLOWS {2}40\n {2}order-0 {2}order {2}running {2}1\/4 steps$/m);
      assert.match(text, /^ {2}… 3\d more instances$/m, 'the instances the endpoint did not send are counted too');
      assert.match(text, /^ACTORS {2}\d+$/m);
      const full = renderSnapshot(snapshot);
      assert.ok(full.split('\n').length > 60, 'on a pipe every line is printed');
      assert.match(full, /^ {2}… 28 more instances$/m);
    } finally {
      gate.resolve();
      await s.close();
    }
  });

  test('--watch on a terminal redraws in place from the top, each frame within the window, the status line first', async () => {
    const s = await busy();
    try {
      const io = captureIo();
      Object.assign(io.stdout, { isTTY: true, columns: 60, rows: 12 });
      assert.equal(await main(['inspect', s.admin.url, '--watch', '--interval', '100', '--count', '2'], io), 0, io.err());
      const frames = io.out().split('\x1b[H').slice(1);
      assert.equal(frames.length, 2);
      for (const frame of frames) {
        const lines = frame.replace(/\x1b\[J$/, '').split('\x1b[K\n').slice(0, -1);
        assert.ok(lines.length <= 11, `${lines.length} lines in a 12-row terminal`);
        assert.match(lines[0] as string, new RegExp(`^Triage ${s.rt.options.name} — running`));
        assert.ok(lines.every((line) => line.length <= 60), 'clipped at the width');
      }
    } finally {
      s.release();
      await s.close();
    }
  });

  test('--watch redraws: --count bounds it, and the change shows', async () => {
    const s = await busy();
    try {
      const io = captureIo();
      const watching = main(['inspect', s.admin.url, '--watch', '--interval', '100', '--count', '3'], io);
      // Let the running payload finish between redraws: the next one starts, and later frames show it.
      await within('the first frame', (async () => {
        while (!io.out().includes('RUNNING')) await new Promise((r) => setTimeout(r, 10));
      })());
      s.release();
      assert.equal(await within('three frames', watching), 0, io.err());
      const frames = io.out().split(/^Triage /m).slice(1);
      assert.equal(frames.length, 3);
      assert.match(frames[0] as string, new RegExp(s.running.replace('.', '\\.')));
      assert.doesNotMatch(frames[2] as string, new RegExp(`^${s.running.replace('.', '\\.')}`, 'm'));
    } finally {
      s.release();
      await s.close();
    }
  });

  test('an endpoint that cannot be reached, or is not Triage, exits 1; bad usage exits 2', async () => {
    const unreachable = captureIo();
    assert.equal(await main(['inspect', `http://127.0.0.1:${await closedPort()}/`], unreachable), 1);
    assert.match(unreachable.err(), /^triage inspect: cannot reach http:\/\/127\.0\.0\.1:\d+\/: ECONNREFUSED/);

    const other = createServer((_req, res) => res.end('<html>hello</html>'));
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    try {
      const io = captureIo();
      assert.equal(await main(['inspect', `http://127.0.0.1:${(other.address() as AddressInfo).port}`], io), 1);
      assert.match(io.err(), /answered 200 with something that is not JSON: is this a Triage admin endpoint\?/);
    } finally {
      other.closeAllConnections();
      await new Promise<void>((resolve) => other.close(() => resolve()));
    }

    const usage: Array<[string[], RegExp]> = [
      [['ftp://example.com'], /the url must be http or https, got ftp:/],
      [['http://a', 'http://b'], /expected at most one url, got 2/],
      [['--count', '2'], /--interval and --count go with --watch/],
      [['--watch', '--interval', '10'], /--interval must be a whole number ≥ 100/],
      [['--colour'], /Unknown option '--colour'/],
    ];
    for (const [args, message] of usage) {
      const io = captureIo();
      assert.equal(await main(['inspect', ...args], io), 2, args.join(' '));
      assert.match(io.err(), message);
    }
  });

  test('as a process, --watch runs until SIGINT and then exits 0', async () => {
    const s = await busy();
    const triage = spawnTriage(['inspect', '--watch', '--interval', '100', s.admin.url]);
    try {
      await triage.waitFor(/RUNNING[\s\S]*RUNNING/); // two frames
      triage.child.kill('SIGINT');
      const { code } = await within('exit after SIGINT', triage.exited);
      assert.equal(code, 0, triage.stderr());
    } finally {
      triage.kill();
      s.release();
      await s.close();
    }
  });
});
