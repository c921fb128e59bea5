/**
 * Loads a user's module — a workflow definition, its handlers, a file of a workflow folder —
 * wherever it lives. Three things stand in the way of a plain `import()`:
 * - A `.ts` file needs a TypeScript loader. From the sources one is active already; the compiled
 *   CLI registers tsx (an optional peer dependency) the first time it meets a `.ts` file.
 * - In a folder whose package.json does not say `"type": "module"` (or that has none), a `.ts` file
 *   would be compiled as CommonJS, and its `import` of the ESM engine fails ("Cannot require() ES
 *   Module … in a cycle"). Workflow files are ES modules: a resolve hook says so.
 * - A file outside any project that has triage installed cannot resolve `import … from 'triage'`:
 *   the hook resolves it to the engine that is running.
 * Any failure is a WorkflowLoadError (code WORKFLOW_LOAD_FAILED) naming the file.
 */
import { existsSync } from 'node:fs';
import { register } from 'node:module';
import { pathToFileURL } from 'node:url';
import { WorkflowLoadError } from '../errors.ts';

const TYPESCRIPT = /\.(?:[cm]?ts|tsx)$/;
/** Running from `.ts` sources means a TypeScript loader is already active. */
const fromSources = import.meta.url.endsWith('.ts');
/** The engine's own entry, what a bare `triage` that resolves nowhere else means. */
const ownEntry = new URL(`../index.${fromSources ? 'ts' : 'js'}`, import.meta.url).href;

// Runs on Node's loader thread, so it is plain JavaScript, registered from a data: URL.
const HOOKS = `
let entry;
export function initialize(data) { entry = data.entry; }
export async function resolve(specifier, context, next) {
  let resolved;
  try {
    resolved = await next(specifier, context);
  } catch (error) {
    if (specifier === 'triage' && error && error.code === 'ERR_MODULE_NOT_FOUND') return { url: entry, format: 'module', shortCircuit: true };
    throw error;
  }
  const url = resolved.url;
  if (resolved.format === 'commonjs' && url.startsWith('file:') && !url.includes('/node_modules/') && /\\.(?:ts|tsx)$/.test(new URL(url).pathname)) {
    return { ...resolved, format: 'module' };
  }
  return resolved;
}
`;

let typeScriptReady = fromSources;
/** Our hook must run before the TypeScript loader's (the last registered runs first), so it is registered after it. */
let hooksOutermost = false;

async function prepare(path: string): Promise<void> {
  if (TYPESCRIPT.test(path) && !typeScriptReady) {
    let tsx: { register(): unknown };
    try {
      tsx = (await import('tsx/esm/api')) as { register(): unknown };
    } catch {
      throw new WorkflowLoadError(path, 'a TypeScript workflow file needs tsx: install it beside triage (npm install --save-dev tsx), or compile the file to .js');
    }
    tsx.register();
    typeScriptReady = true;
    hooksOutermost = false;
  }
  if (!hooksOutermost) {
    register(`data:text/javascript,${encodeURIComponent(HOOKS)}`, { data: { entry: ownEntry } });
    hooksOutermost = true;
  }
}

/** A loader's message, cut to what reads well on a terminal: the first lines, no stack. */
function reasonOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n').filter((line) => line.trim() !== '').slice(0, 4).join('\n  ');
}

/**
 * Imports the module at `path`. A workflow definition's own INVALID_WORKFLOW, thrown while the
 * module loads, passes through as it is; anything else that stops the load becomes a WorkflowLoadError.
 */
export async function importUserModule(path: string): Promise<Record<string, unknown>> {
  if (!existsSync(path)) throw new WorkflowLoadError(path, 'no such file');
  await prepare(path);
  try {
    return (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (error) {
    // By its code, not instanceof: a project's own copy of triage has its own error classes.
    if ((error as { code?: unknown } | null)?.code === 'INVALID_WORKFLOW') throw error;
    throw new WorkflowLoadError(path, reasonOf(error), { cause: error });
  }
}
