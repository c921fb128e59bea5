#!/usr/bin/env node
// The `triage` command. As installed from the package it runs the compiled CLI (dist/). In a checkout
// (src/ beside this folder) it runs the TypeScript sources through tsx, a dev dependency, so what
// runs is what was last edited, never a stale build.
import { existsSync } from 'node:fs';

const sources = new URL('../src/cli/main.ts', import.meta.url);
let main;
if (existsSync(sources)) {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import(sources.href));
} else {
  ({ main } = await import(new URL('../dist/src/cli/main.js', import.meta.url).href));
}
process.exitCode = await main(process.argv.slice(2));
