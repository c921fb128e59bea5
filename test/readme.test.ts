// The README says what works: its programs and commands run as written, and its lists of error
// codes, events and health paths are the ones the code has.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { createRuntime, PAYLOAD_EVENTS, silentLogger, WORKFLOW_EVENTS } from '../src/index.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const readme = readFileSync(join(root, 'README.md'), 'utf8');

/** The text of a section: from its heading to the next heading of the same or a higher level. */
function section(heading: string): string {
  const start = readme.indexOf(`\n${heading}\n`);
  assert.notEqual(start, -1, `README has a "${heading}" section`);
  const level = /^#+/.exec(heading)?.[0].length ?? 2;
  const rest = readme.slice(start + heading.length + 2);
  const end = rest.search(new RegExp(`^#{1,${level}} `, 'm'));
  return end === -1 ? rest : rest.slice(0, end);
}

/** The first fenced block of `language` in `text`. */
function codeBlock(text: string, language: string): string {
  const match = new RegExp('```' + language + '\\n([^]*?)```').exec(text);
  assert.ok(match?.[1], `a \`\`\`${language} block`);
  return match[1];
}

/** Every backticked word in `text`. */
const backticked = (text: string) => [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1] as string);

/** The .ts files under `dir`. */
function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : name.endsWith('.ts') ? [path] : [];
  });
}

describe('README', () => {
  test('the quick start runs as written: the listener hears the completion, the result is printed', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'triage-readme-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const program = codeBlock(section('## Quick start'), 'ts');
    assert.match(program, /from 'triage'/);
    writeFileSync(join(dir, 'quick-start.ts'), program);
    const child = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'test', 'fixtures', 'run-user-module.ts'), join(dir, 'quick-start.ts')], {
      cwd: root, encoding: 'utf8', timeout: 60_000,
    });
    assert.equal(child.status, 0, child.stderr);
    assert.match(child.stdout, /^completed \S+ in tier high$/m);
    assert.match(child.stdout, /^\{ url: 'a\.png', width: 640 \}$/m);
  });

  test('the commands shown for a clone run: npx triage --help, npx triage run', () => {
    const commands = codeBlock(section('### From a clone'), 'sh').split('\n').map((line) => line.replace(/\s+#.*$/, '').trim()).filter((line) => line.startsWith('npx triage'));
    assert.ok(commands.length >= 2, commands.join('; '));
    for (const command of commands) {
      const [npx, ...args] = command.split(/\s+/);
      const child = spawnSync(npx as string, ['--offline', ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
      assert.equal(child.status, 0, `${command}: ${child.stderr}`);
      assert.ok(child.stdout.length > 0, `${command} printed something`);
    }
  });

  test('the error-code table lists exactly the codes of src/errors.ts', () => {
    const union = /export type ErrorCode =([^;]+);/.exec(readFileSync(join(root, 'src', 'errors.ts'), 'utf8'))?.[1] ?? '';
    const codes = [...union.matchAll(/'([A-Z_]+)'/g)].map((m) => m[1]);
    const table = [...section('### Error codes').matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]);
    assert.ok(codes.length > 20);
    assert.deepEqual([...table].sort(), [...codes].sort());
  });

  test('every other stored failure code the engine writes is named after the table', () => {
    const table = new Set([...section('### Error codes').matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]));
    const written = new Set(sources(join(root, 'src')).concat(sources(join(root, 'actors')))
      .flatMap((file) => [...readFileSync(file, 'utf8').matchAll(/\bcode: '([A-Z][A-Z_]+)'/g)].map((m) => m[1] as string)));
    const others = [...written].filter((code) => !table.has(code));
    assert.ok(others.includes('STEP_INPUT_FAILED'), others.join(', '));
    const named = new Set(backticked(section('### Error codes')));
    assert.deepEqual(others.filter((code) => !named.has(code)), []);
  });

  test('the event lists are the events the engine emits', () => {
    const api = section('## API');
    const row = (call: string) => {
      const line = api.split('\n').find((l) => l.startsWith(`| \`${call}`));
      assert.ok(line, `an API row for ${call}`);
      const events = line.slice(line.indexOf('events:'));
      return backticked(events).filter((word) => word !== '*');
    };
    assert.deepEqual(row('events.on'), [...PAYLOAD_EVENTS]);
    assert.deepEqual(row('workflows.start'), [...WORKFLOW_EVENTS]);
  });

  test('the health paths it names answer 200 on a running runtime', async (t) => {
    const paths = [...new Set([...readme.matchAll(/`(\/api\/health\/[a-z]+)`/g)].map((m) => m[1] as string))];
    assert.deepEqual(paths.sort(), ['/api/health/live', '/api/health/ready']);
    const runtime = createRuntime({ logger: silentLogger });
    t.after(() => runtime.stop());
    await runtime.ready();
    const admin = await runtime.admin.listen({ port: 0 });
    t.after(() => runtime.admin.close());
    for (const path of paths) assert.equal((await fetch(new URL(path, admin.url))).status, 200, path);
  });
});
