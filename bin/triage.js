#!/usr/bin/env node
// The `triage` command. Workflows and handlers are TypeScript files, so the CLI loads them through tsx.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
