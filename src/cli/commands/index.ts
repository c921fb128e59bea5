import type { Command } from '../command.ts';
import { inspect } from './inspect.ts';
import { runCommand } from './run.ts';
import { start } from './start.ts';
import { submitCommand } from './submit.ts';

/** Every `triage` subcommand, in the order `--help` lists them. */
export const commands: readonly Command[] = [start, runCommand, inspect, submitCommand];
