/**
 * `triage` — the command-line entry. Parses the subcommand, prints help, maps errors to exit codes.
 */
import { existsSync, readFileSync } from 'node:fs';
import { EXIT, UsageError, type CliIo, type Command } from './command.ts';
import { commands } from './commands/index.ts';

/** The package's version: package.json is two folders up from src/cli, three from the compiled dist/src/cli. */
function packageVersion(): string {
  for (const up of ['../../package.json', '../../../package.json']) {
    const url = new URL(up, import.meta.url);
    if (!existsSync(url)) continue;
    const manifest = JSON.parse(readFileSync(url, 'utf8')) as { name?: unknown; version?: unknown };
    if (manifest.name === 'triage' && typeof manifest.version === 'string') return manifest.version;
  }
  return 'unknown';
}

const version = packageVersion();

function help(list: readonly Command[]): string {
  const width = Math.max(8, ...list.map((c) => c.name.length));
  return [
    'triage — an actor-model workflow engine with load-aware quality of service',
    '',
    'usage: triage <command> [options]',
    '',
    'commands:',
    ...list.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'options:',
    '  --help      show help (also: triage <command> --help)',
    '  --version   print the version',
    '',
  ].join('\n');
}

export async function main(argv: string[], io: CliIo = process, list: readonly Command[] = commands): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(help(list));
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === '--version' || name === '-v') {
    io.stdout.write(`${version}\n`);
    return EXIT.ok;
  }
  const command = list.find((c) => c.name === name);
  if (!command) {
    io.stderr.write(`triage: unknown command ${JSON.stringify(name)}\n\n${help(list)}`);
    return EXIT.usage;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(`${command.usage.trimEnd()}\n`);
    return EXIT.ok;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`triage ${name}: ${error.message}\n\n${command.usage.trimEnd()}\n`);
      return EXIT.usage;
    }
    const code = (error as { code?: unknown }).code;
    io.stderr.write(`triage ${name}: ${(error as Error).message ?? String(error)}${typeof code === 'string' ? ` [${code}]` : ''}\n`);
    return EXIT.failed;
  }
}
