// `pretest`: what it decides for each machine, and that without apt-get it stops at once with one line.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { Redis } from 'ioredis';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { closedPort } from './admin-support.ts';
import { planProvisioning, redisAnswers, type Found } from './provision.ts';

const all: Found = { chromium: true, promtool: true, redisAnswers: true, redisServer: true, redisLocal: true, canInstall: false };

describe('pretest: the plan', () => {
  test('a machine with everything needs nothing', () => {
    assert.deepEqual(planProvisioning(all), { kind: 'ready' });
  });

  test('as root with apt-get, each missing tool is installed from the Debian package that brings it, and Redis started', () => {
    assert.deepEqual(planProvisioning({ chromium: false, promtool: false, redisAnswers: false, redisServer: false, redisLocal: true, canInstall: true }), {
      kind: 'provision', install: ['chromium', 'prometheus', 'redis-server'], startRedis: true,
    });
    assert.deepEqual(planProvisioning({ ...all, promtool: false, canInstall: true }), { kind: 'provision', install: ['prometheus'], startRedis: false });
  });

  test('a Redis that does not answer is started when redis-server is there, root or not', () => {
    assert.deepEqual(planProvisioning({ ...all, redisAnswers: false }), { kind: 'provision', install: [], startRedis: true });
  });

  test('without root or apt-get, one line names every package to install', () => {
    const plan = planProvisioning({ chromium: false, promtool: false, redisAnswers: false, redisServer: false, redisLocal: true, canInstall: false });
    assert.equal(plan.kind, 'stop');
    const line = plan.kind === 'stop' ? plan.line : '';
    assert.doesNotMatch(line, /\n/);
    assert.match(line, /chromium \(\/usr\/bin\/chromium\), prometheus \(for promtool\), redis-server/);
    assert.match(line, /apt-get install chromium prometheus redis-server/);
    assert.match(line, /start a Redis on 127\.0\.0\.1:6379/);
  });
});

describe('pretest: the script', () => {
  test('with only node on PATH (no promtool, no apt-get) it exits 1 with one line naming prometheus', (t) => {
    const bin = mkdtempSync(join(tmpdir(), 'triage-path-'));
    t.after(() => rmSync(bin, { recursive: true, force: true }));
    symlinkSync(process.execPath, join(bin, 'node'));
    const script = fileURLToPath(new URL('./provision.ts', import.meta.url));
    const result = spawnSync(process.execPath, ['--import', 'tsx', script], {
      cwd: dirname(script), env: { PATH: bin, HOME: tmpdir() }, encoding: 'utf8', timeout: 30_000,
    });
    assert.equal(result.status, 1, `exit status (stderr: ${result.stderr})`);
    const lines = result.stderr.trim().split('\n');
    assert.equal(lines.length, 1, result.stderr);
    assert.match(lines[0] ?? '', /^npm test needs .*prometheus \(for promtool\).*apt-get install .*prometheus/);
  });

  test('when no Redis answers where the tests look, it starts redis-server there', async (t) => {
    const port = await closedPort();
    const script = fileURLToPath(new URL('./provision.ts', import.meta.url));
    const result = spawnSync(process.execPath, ['--import', 'tsx', script], {
      cwd: dirname(script), env: { ...process.env, REDIS_URL: `redis://127.0.0.1:${port}` }, encoding: 'utf8', timeout: 30_000,
    });
    const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0 });
    t.after(async () => {
      // The started server is stopped by its pid, as every test that starts one does.
      const info = await client.info('server').catch(() => '');
      const pid = Number(/process_id:(\d+)/.exec(info)?.[1]);
      if (pid > 0) process.kill(pid, 'SIGTERM');
      client.disconnect();
    });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, new RegExp(`no Redis answers on 127\\.0\\.0\\.1:${port}; starting redis-server there`));
    assert.equal(await redisAnswers('127.0.0.1', port), true);
  });
});
