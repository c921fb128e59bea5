import type { Command } from '../command.ts';
import { inspect } from './inspect.ts';
import { runCommand } from './run.ts';
import { start } from './start.ts';

/** Every `triage` subcommand, in the order `--help` lists them. */
export const commands: readonly Command[] = [start, runCommand, inspect];
