import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { main } from '../src/cli/main.ts';
import type { CliIo } from '../src/cli/command.ts';

const root = resolve(import.meta.dirname, '..');
const dsl = join(root, 'src', 'dsl', 'index.ts');

function capture(tty = false): { io: CliIo; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  const sink = (append: (s: string) => void) => new Writable({ write(chunk, _enc, done) { append(String(chunk)); done(); } });
  const stdout = Object.assign(sink((s) => (out += s)), { isTTY: false });
  const stderr = Object.assign(sink((s) => (err += s)), { isTTY: tty, columns: 100 });
  return { io: { stdout, stderr, env: {} }, out: () => out, err: () => err };
}

const run = async (args: string[], tty = false) => {
  const c = capture(tty);
  const code = await main(['run', ...args], c.io);
  return { code, out: c.out(), err: c.err() };
};

describe('triage run', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'triage-run-'));
    const good = `import { workflow } from ${JSON.stringify(dsl)};
export default workflow<{ n: number }>('double', { sample: { n: 2 } })
  .step('twice', { handler: 'math.double', input: ({ input }) => input.n })
  .output(({ results }) => ({ doubled: results.twice }));
`;
    writeFileSync(join(dir, 'double.ts'), good);
    writeFileSync(join(dir, 'double.handlers.ts'), `export const handlers = { 'math.double': (n: number) => n * 2 };\n`);
    writeFileSync(join(dir, 'lonely.ts'), good);
    writeFileSync(join(dir, 'broken.ts'), `import { defineWorkflow } from ${JSON.stringify(dsl)};
export default defineWorkflow({ name: 'broken', steps: [{ name: 'a', handler: 'x', after: ['ghost'], input: () => 1, priority: 99 }], output: () => 1 });
`);
    writeFileSync(join(dir, 'nothing.ts'), `export const answer = 42;\n`);
    writeFileSync(join(dir, 'syntax.ts'), `export default workflow(;\n`);
    writeFileSync(join(dir, 'flaky.ts'), `import { workflow } from ${JSON.stringify(dsl)};
export default workflow<{ n: number }>('flaky', { sample: { n: 1 } })
  .step('fetch', { handler: 'net.fetch', input: ({ input }) => input.n })
  .output(({ results }) => results.fetch);
`);
    writeFileSync(join(dir, 'flaky.handlers.ts'), `let calls = 0;
export const handlers = { 'net.fetch': (n: number) => { if (++calls < 3) throw new Error('connection reset'); return n; } };
export const handlerOptions = { 'net.fetch': { retries: 3, backoff: { initialMs: 5, jitter: 0 } } };
`);
    writeFileSync(join(dir, 'throws.ts'), `throw new Error('the database is not there');\n`);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('runs a workflow with --input and prints the result as JSON on stdout, progress lines on stderr', async () => {
    const { code, out, err } = await run([join(dir, 'double.ts'), '--input', '{"n":21}']);
    assert.equal(code, 0, err);
    assert.deepEqual(JSON.parse(out), { doubled: 42 });
    assert.deepEqual(err.trim().split('\n'), [
      'double [0/1] started', 'double [0/1] step-started twice', 'double [1/1] step-completed twice', 'double [1/1] completed',
    ]);
  });

  test('draws a progress bar on a terminal and clears it before the result', async () => {
    const { code, out, err } = await run([join(dir, 'double.ts')], true);
    assert.equal(code, 0);
    assert.deepEqual(JSON.parse(out), { doubled: 4 }, 'the sample input');
    assert.match(err, /\r\x1b\[Kdouble \[░+\] 0\/1 {2}twice/);
    assert.match(err, /double \[█+\] 1\/1/);
    assert.ok(err.endsWith('\r\x1b[K'), 'the bar is cleared');
    assert.ok(!err.includes('\n'), 'no plain lines on a terminal');
  });

  test('every workflow in workflows/ runs from its sample input', async () => {
    for (const name of ['planning', 'etl', 'order-fulfilment']) {
      const { code, out, err } = await run([join(root, 'workflows', `${name}.ts`)]);
      assert.equal(code, 0, `${name}: ${err}`);
      assert.equal(typeof JSON.parse(out), 'object');
    }
  });

  test('retries are printed as they happen, naming the step, the attempt and the error', async () => {
    const { code, out, err } = await run([join(dir, 'flaky.ts')]);
    assert.equal(code, 0, err);
    assert.equal(JSON.parse(out), 1);
    const retries = err.split('\n').filter((line) => line.includes('retrying'));
    assert.deepEqual(retries.map((line) => line.replace(/in \d+ ms/, 'in N ms')), [
      'flaky retrying "fetch" (net.fetch): attempt 1 failed (connection reset); next attempt in N ms',
      'flaky retrying "fetch" (net.fetch): attempt 2 failed (connection reset); next attempt in N ms',
    ]);
    const lines = err.trim().split('\n');
    assert.ok(lines.indexOf(retries[1] as string) < lines.findIndex((line) => line.includes('step-completed fetch')), 'before the step completed');
  });

  test('an --input its schema refuses fails at once, exit 2, naming each field; nothing runs', async () => {
    const { code, out, err } = await run([join(root, 'workflows', 'order-fulfilment.ts'), '--input', '{"foo":1,"orderId":"o1","lines":[{"sku":"book","qty":"2"}],"country":"DE"}']);
    assert.equal(code, 2, err);
    assert.equal(out, '');
    assert.equal(err, [
      'triage run: invalid input for workflow "order-fulfilment" [INVALID_INPUT]',
      '  lines.0.qty: Invalid type: Expected number but received "2"',
      '  express: is required',
      '  foo: is not a field of this input',
      '',
    ].join('\n'));
  });

  test('a failing workflow exits 1 with a readable error and nothing on stdout', async () => {
    const input = JSON.stringify({ orderId: 'o9', lines: [{ sku: 'book', qty: 1 }], country: 'XX', express: false });
    const { code, out, err } = await run([join(root, 'workflows', 'order-fulfilment.ts'), `--input=${input}`]);
    assert.equal(code, 1);
    assert.equal(out, '');
    assert.match(err, /triage run: workflow "order-fulfilment" failed at step "ship": no carrier ships to XX \[NON_RETRYABLE\]/);
    assert.match(err, /compensation-completed charge/);
  });

  test('bad files and bad input get a readable error and a non-zero exit', async () => {
    const cases: Array<[string[], number, RegExp]> = [
      [[join(dir, 'missing.ts')], 1, /^triage run: cannot load .*missing\.ts: no such file \[WORKFLOW_LOAD_FAILED\]$/m],
      [[join(dir, 'broken.ts')], 1, /invalid workflow "broken":\n {2}step "a" after\[0\]: names no step of this workflow \("ghost"\)\n {2}step "a" priority: must be/],
      [[join(dir, 'nothing.ts')], 1, /exports no workflow definition/],
      [[join(dir, 'syntax.ts')], 1, /^triage run: cannot load .*syntax\.ts: [^]*\[WORKFLOW_LOAD_FAILED\]$/m],
      [[join(dir, 'throws.ts')], 1, /^triage run: cannot load .*throws\.ts: the database is not there \[WORKFLOW_LOAD_FAILED\]$/m],
      [[join(dir, 'lonely.ts')], 1, /cannot load .*lonely\.handlers\.ts: no handlers module here; it exports `handlers` \(or name one with --handlers\) \[WORKFLOW_LOAD_FAILED\]/],
      [[join(dir, 'double.ts'), '--input', '{nope'], 2, /--input is not valid JSON/],
      [[join(dir, 'double.ts'), '--bogus'], 2, /unknown option --bogus/],
      [[], 2, /which workflow file/],
    ];
    for (const [args, expected, message] of cases) {
      const { code, out, err } = await run(args);
      assert.equal(code, expected, `${args.join(' ')}: ${err}`);
      assert.match(err, message);
      assert.equal(out, '');
    }
  });

  test('the installed command exits non-zero on failure', () => {
    const input = JSON.stringify({ orderId: 'o9', lines: [{ sku: 'book', qty: 1 }], country: 'XX', express: false });
    const child = spawnSync(process.execPath, [join(root, 'bin', 'triage.js'), 'run', 'workflows/order-fulfilment.ts', '--input', input], { cwd: root, encoding: 'utf8' });
    assert.equal(child.status, 1, child.stderr);
    assert.equal(child.stdout, '');
    assert.match(child.stderr, /failed at step "ship"/);
  });
});

describe('triage run: workflow files anywhere', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'triage-anywhere-'));
    // The shipped ETL workflow as a user would copy it: into a folder with no package.json (so not
    // an ES module scope), importing the DSL by the package's name, its handlers beside it.
    for (const file of ['etl.ts', 'etl.handlers.ts']) {
      const source = readFileSync(join(root, 'workflows', file), 'utf8').replace(/'\.\.\/src\/(?:dsl\/)?index\.ts'/g, "'triage'");
      assert.match(source, /from 'triage'/);
      writeFileSync(join(dir, file), source);
    }
    // A folder whose package.json says CommonJS.
    mkdirSync(join(dir, 'cjs'));
    writeFileSync(join(dir, 'cjs', 'package.json'), '{ "type": "commonjs" }\n');
    for (const file of ['etl.ts', 'etl.handlers.ts']) writeFileSync(join(dir, 'cjs', file), readFileSync(join(dir, file)));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a .ts workflow in a folder with no package.json runs, its `triage` import resolved to the running engine', async () => {
    const { code, out, err } = await run([join(dir, 'etl.ts')]);
    assert.equal(code, 0, err);
    assert.equal(typeof JSON.parse(out), 'object');
  });

  test('in a folder whose package.json says CommonJS it runs too, from the installed command', () => {
    const child = spawnSync(process.execPath, [join(root, 'bin', 'triage.js'), 'run', 'etl.ts'], { cwd: join(dir, 'cjs'), encoding: 'utf8' });
    assert.equal(child.status, 0, child.stderr);
    assert.equal(typeof JSON.parse(child.stdout), 'object');
  });
});
