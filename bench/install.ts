/**
 * Installs what only the benchmark needs (bench/package.json: BullMQ, p-queue) into
 * bench/node_modules when it is missing or not the pinned version, exactly as bench/package-lock.json
 * pins it. Kept out of the package's own dependencies so `npm ci` and `npm install triage` never
 * fetch them. `npm run bench` runs this first.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const benchDir = fileURLToPath(new URL('.', import.meta.url));
const manifest = JSON.parse(readFileSync(join(benchDir, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };

/** The bench dependencies that are not installed at their pinned version. */
export function missingBenchDependencies(dir = benchDir): string[] {
  return Object.entries(manifest.dependencies).filter(([name, pinned]) => {
    const installed = join(dir, 'node_modules', name, 'package.json');
    return !existsSync(installed) || (JSON.parse(readFileSync(installed, 'utf8')) as { version: string }).version !== pinned;
  }).map(([name, pinned]) => `${name}@${pinned}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const missing = missingBenchDependencies();
  if (missing.length > 0) {
    process.stderr.write(`bench: installing ${missing.join(', ')} into bench/node_modules\n`);
    const npm = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: benchDir, stdio: ['ignore', 'inherit', 'inherit'] });
    if (npm.status !== 0) {
      process.stderr.write(`bench: npm ci in bench/ failed (exit ${npm.status ?? npm.signal}); the bench needs ${missing.join(', ')}\n`);
      process.exit(1);
    }
  }
}
