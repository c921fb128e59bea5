// `npm start`'s output: one status line redrawn in place on a terminal, whole lines elsewhere.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseStartArgs, startServer } from '../src/cli/commands/start.ts';
import { tierSummary } from '../src/cli/commands/demo.ts';
import { StatusLine } from '../src/cli/status-line.ts';
import { captureIo, eventually } from './admin-support.ts';

const sink = (isTTY: boolean, columns = 40) => {
  let text = '';
  return { sink: { isTTY, columns, write: (chunk: string) => void (text += chunk) }, text: () => text };
};

describe('status line', () => {
  test('on a terminal it is redrawn in place, cut to the width, with lines printed above it', () => {
    const { sink: out, text } = sink(true, 21);
    const status = new StatusLine(out);
    status.show('wave 1 · critical 4 ran');
    status.above(() => out.write('a warning\n'));
    status.show('wave 2');
    status.end();
    status.show('wave 3');
    assert.equal(text(), '\r\x1b[Kwave 1 · critical 4…' + '\r\x1b[Ka warning\nwave 1 · critical 4…' + '\r\x1b[Kwave 2' + '\n');
  });

  test('on a pipe it draws nothing; lines pass as they are', () => {
    const { sink: out, text } = sink(false);
    const status = new StatusLine(out);
    status.show('wave 1');
    status.above(() => out.write('a line\n'));
    status.end();
    assert.equal(text(), 'a line\n');
  });

  test('per tier: what ran, and the wait p50/p99', () => {
    const report = [
      { tier: 'critical' as const, ran: 4, failed: 0, retried: 0, waitP50: 0.44, waitP99: 2.06, waitMax: 3 },
      { tier: 'low' as const, ran: 398, failed: 2, retried: 5, waitP50: 120.4, waitP99: 450.6, waitMax: 500 },
    ];
    assert.equal(tierSummary(report), 'critical 4 0.4/2.1, low 398 (2 failed) 120/451');
  });

  test('the demo on a terminal: the admin URL leads a status line redrawn in place, no line per wave', async (t) => {
    const io = captureIo();
    const stdout = Object.assign(io.stdout, { isTTY: true, columns: 400 });
    const started = await startServer({ ...parseStartArgs(['--demo', '--port', '0', '--partitions', '2'], {}), port: 0 }, { stdout, stderr: io.stderr });
    t.after(() => started.stop());
    const prefix = `\r\x1b[K${started.admin.url} · wave 1 · ran, wait p50/p99 ms: critical `;
    await eventually('a status line with the first wave', () => (io.out().includes(prefix) ? true : undefined), 30_000);
    await eventually('the first album published', () => (/ · albums 1/.test(io.out()) ? true : undefined), 30_000);
    assert.doesNotMatch(io.out(), /\n/, 'no line of its own per wave');
    started.say('triage: a line of its own');
    assert.match(io.out(), /\r\x1b\[Ktriage: a line of its own\nhttp:\/\/127\.0\.0\.1:\d+\/ · wave /);
  });
});
