import type { Command } from '../command.ts';

/** Every `triage` subcommand, in the order `--help` lists them. */
export const commands: readonly Command[] = [];
