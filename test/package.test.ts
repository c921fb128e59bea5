// The package as a user gets it: packed (prepack builds dist/), installed from the tarball into an
// empty project, imported with plain node, its types compiled against, its `triage` command run.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { eventually } from './admin-support.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
/** What `npm pack` needs of the checkout: the manifest, the build's configuration and its inputs. */
const PACK_INPUTS = ['package.json', 'package-lock.json', 'README.md', 'tsconfig.json', 'tsconfig.build.json', 'bin', 'src', 'actors', 'workflows', 'examples'];

const devDependency = (name: string) => (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }).devDependencies[name];

const run = (cwd: string, command: string, args: string[]) =>
  execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false' } });

describe('the packed package', () => {
  let work: string;
  let project: string;
  let installed: string;
  let files: string[];

  before(() => {
    work = mkdtempSync(join(tmpdir(), 'triage-pack-'));
    // A copy of the checkout, so the build prepack runs never writes into it.
    const checkout = join(work, 'checkout');
    for (const entry of PACK_INPUTS) cpSync(join(root, entry), join(checkout, entry), { recursive: true });
    symlinkSync(join(root, 'node_modules'), join(checkout, 'node_modules'), 'dir');
    const [packed] = JSON.parse(run(checkout, 'npm', ['pack', '--json', '--pack-destination', work])) as Array<{ filename: string; files: Array<{ path: string }> }>;
    assert.ok(packed, 'npm pack reported the tarball');
    files = packed.files.map((f) => f.path);

    project = join(work, 'project');
    cpSync(join(root, 'test', 'fixtures', 'consumer'), project, { recursive: true });
    // Its pinned dependencies come from the local cache the checkout's own install filled.
    run(project, 'npm', ['install', '--prefer-offline', '--no-package-lock', join(work, packed.filename)]);
    installed = join(project, 'node_modules', 'triage');
  });

  after(() => rmSync(work, { recursive: true, force: true }));

  test('ships compiled JS with declarations and source maps, the bin and the demo, and no TypeScript sources', () => {
    for (const path of ['dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/index.js.map', 'dist/src/cli/main.js', 'dist/examples/main-job.js', 'bin/triage.js']) {
      assert.ok(files.includes(path), `${path} is packed`);
    }
    assert.deepEqual(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')), [], 'no .ts sources: the CLI must not need tsx to run');
    const map = JSON.parse(readFileSync(join(installed, 'dist/src/runtime.js.map'), 'utf8')) as { sourcesContent?: unknown[] };
    assert.ok((map.sourcesContent?.length ?? 0) > 0, 'source maps carry their sources');
    assert.equal(existsSync(join(project, 'node_modules', 'tsx')), false, 'tsx is not installed with the package');
    for (const benchOnly of ['bullmq', 'p-queue', 'msgpackr']) assert.equal(existsSync(join(project, 'node_modules', benchOnly)), false, `${benchOnly} (the bench's) is not installed with the package`);
  });

  test('plain node imports it and runs a payload', () => {
    assert.equal(run(project, process.execPath, ['main.mjs']).trim(), 'sum 5');
  });

  test('a TypeScript consumer compiles against its declarations', () => {
    const compilerOptions = {
      target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true,
      typeRoots: [join(root, 'node_modules', '@types')], types: ['node'],
    };
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['consumer.ts'] }));
    run(project, process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json']);
  });

  test('the installed triage runs JavaScript workflow files as they are, and TypeScript ones once tsx is installed, from any folder', () => {
    const bin = join(project, 'node_modules', '.bin', 'triage');
    const elsewhere = join(work, 'elsewhere');
    mkdirSync(elsewhere);
    const flow = (typed: boolean) => `import { workflow } from 'triage';
export default workflow${typed ? '<{ n: number }>' : ''}('double', { sample: { n: 2 } })
  .step('twice', { handler: 'math.double', input: ({ input }) => input.n })
  .output(({ results }) => ({ doubled: results.twice }));
`;
    writeFileSync(join(elsewhere, 'flow.mjs'), flow(false));
    writeFileSync(join(elsewhere, 'flow.handlers.mjs'), `export const handlers = { 'math.double': (n) => n * 2 };\n`);
    writeFileSync(join(elsewhere, 'flow.ts'), flow(true));
    writeFileSync(join(elsewhere, 'flow.handlers.ts'), `export const handlers = { 'math.double': (n: number) => n * 2 };\n`);
    assert.deepEqual(JSON.parse(run(elsewhere, bin, ['run', 'flow.mjs', '--input', '{"n":4}'])), { doubled: 8 });

    const withoutTsx = spawnSync(bin, ['run', 'flow.ts'], { cwd: elsewhere, encoding: 'utf8' });
    assert.equal(withoutTsx.status, 1);
    assert.match(withoutTsx.stderr, /^triage run: cannot load .*flow\.ts: a TypeScript workflow file needs tsx: install it beside triage \(npm install --save-dev tsx\), or compile the file to \.js \[WORKFLOW_LOAD_FAILED\]$/m);

    run(project, 'npm', ['install', '--prefer-offline', '--no-package-lock', `tsx@${devDependency('tsx')}`]);
    assert.deepEqual(JSON.parse(run(elsewhere, bin, ['run', 'flow.ts'])), { doubled: 4 });
  });

  test('the installed triage command prints its help and version, and runs the demo', async (t) => {
    const bin = join(project, 'node_modules', '.bin', 'triage');
    assert.match(run(project, bin, ['--help']), /^usage: triage <command> \[options\]$/m);
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    assert.equal(run(project, bin, ['--version']).trim(), manifest.version);

    const child = spawn(bin, ['start', '--demo', '--port', '0'], { cwd: project, stdio: ['ignore', 'pipe', 'pipe'] });
    t.after(() => void (child.exitCode === null && child.signalCode === null && child.kill('SIGKILL')));
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    await eventually(`the demo's admin URL and first status (printed: ${out})`, () => /admin page http:\/\/127\.0\.0\.1:\d+\//.test(out) && /demo/.test(out) || undefined, 30_000);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGINT');
    assert.equal(await exited, 0, out);
  });
});
