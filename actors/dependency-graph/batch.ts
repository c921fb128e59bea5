/**
 * Submit-time checks of a batch's dependencies, before anything is enqueued: every `dependsOn`
 * entry is the `ref` of a payload in the same batch or a payload id of this runtime, and the
 * batch has no cycle. Existing payloads cannot depend on payloads not yet submitted, so a cycle can
 * only lie inside one batch: graphlib's cycle search runs on the batch alone, never on the whole
 * graph. Whether external ids exist is the actor's question (it looks them up).
 */
import { Graph } from '@dagrejs/graphlib';
import { partitionOfId } from '../../src/core/ids.ts';
import { ValidationError, type FieldProblem } from '../../src/errors.ts';
import type { CompiledOptions } from '../../src/options.ts';
import type { Payload } from '../../src/payload.ts';
import { cyclePaths } from '../../src/dsl/cycles.ts';
import type { ValidPayload } from '../../src/validation.ts';
import { routeTier } from '../partition/routing.ts';
import type { WaitingEntry } from './state.ts';

/** What the dependency check reads of a valid payload. */
export type DependencyFields = Pick<ValidPayload, 'dependsOn' | 'onDependencyFailure' | 'ref'>;

/** The dependency fields of a payload that has none of them. */
export const NO_DEPENDENCY_FIELDS: DependencyFields = Object.freeze({ dependsOn: undefined, onDependencyFailure: 'fail', ref: undefined });

export interface PreparedPayload {
  readonly payload: Payload;
  readonly partition: number;
  readonly valid: DependencyFields;
}

export interface ResolvedBatch {
  /** Payloads with dependencies, for the graph to hold. */
  readonly waiting: readonly WaitingEntry[];
  /** Payloads without dependencies, which go straight to their partitions. */
  readonly direct: readonly PreparedPayload[];
  /** Dependency ids outside the batch, each once. */
  readonly external: readonly string[];
  /** Ids in input order. */
  readonly ids: readonly string[];
  /** Where each external id was listed, for problems about it. */
  readonly fieldsOf: ReadonlyMap<string, readonly string[]>;
}

/** Names the field of the batch's `index`-th payload in problems (`payloads[3].dependsOn[0]`, or `dependsOn[0]` alone). */
export type FieldName = (index: number, field: string) => string;

export function hasDependencies(valid: DependencyFields): boolean {
  return valid.dependsOn !== undefined && valid.dependsOn.length > 0;
}

export function resolveBatch(batch: readonly PreparedPayload[], options: CompiledOptions, field: FieldName): ResolvedBatch {
  const problems: FieldProblem[] = [];
  const byRef = new Map<string, number>();
  batch.forEach(({ valid }, i) => {
    if (valid.ref === undefined) return;
    const first = byRef.get(valid.ref);
    if (first === undefined) byRef.set(valid.ref, i);
    else problems.push({ field: field(i, 'ref'), problem: `repeats ${JSON.stringify(valid.ref)}, already the ref of payload #${first}` });
  });

  const waiting: WaitingEntry[] = [];
  const direct: PreparedPayload[] = [];
  const fieldsOf = new Map<string, string[]>();
  const inBatchEdges: Array<[number, number]> = [];
  batch.forEach((entry, i) => {
    const { payload, partition, valid } = entry;
    if (!hasDependencies(valid)) {
      direct.push(entry);
      return;
    }
    const deps: string[] = [];
    (valid.dependsOn as readonly string[]).forEach((dep, j) => {
      const at = byRef.get(dep);
      if (at !== undefined) {
        const target = (batch[at] as PreparedPayload).payload.id;
        if (deps.includes(target)) problems.push({ field: field(i, `dependsOn[${j}]`), problem: `names payload #${at} twice` });
        else deps.push(target);
        inBatchEdges.push([at, i]);
      } else if (partitionOfId(dep, options.partitions) !== undefined) {
        deps.push(dep);
        const fields = fieldsOf.get(dep);
        if (fields) fields.push(field(i, `dependsOn[${j}]`));
        else fieldsOf.set(dep, [field(i, `dependsOn[${j}]`)]);
      } else {
        problems.push({ field: field(i, `dependsOn[${j}]`), problem: `is neither a payload id nor the ref of a payload in this batch (${JSON.stringify(dep)})` });
      }
    });
    waiting.push({ payload, partition, tier: routeTier(payload, options), deps, policy: valid.onDependencyFailure });
  });

  if (inBatchEdges.length > 0) problems.push(...cycleProblems(batch, inBatchEdges, field));
  if (problems.length > 0) throw new ValidationError(problems);
  return { waiting, direct, external: [...fieldsOf.keys()], ids: batch.map((e) => e.payload.id), fieldsOf };
}

/** One problem per cycle, on its first payload, naming the cycle in order. */
function cycleProblems(batch: readonly PreparedPayload[], edges: ReadonlyArray<[number, number]>, field: FieldName): FieldProblem[] {
  const graph = new Graph();
  // Edges point from a payload to what it depends on, so a printed path reads "depends on".
  for (const [dep, dependent] of edges) graph.setEdge(String(dependent), String(dep));
  const name = (i: number) => {
    const ref = (batch[i] as PreparedPayload).valid.ref;
    return ref === undefined ? `#${i}` : JSON.stringify(ref);
  };
  return cyclePaths(graph, Number).map((path) => ({
    field: field(Number(path[0]), 'dependsOn'),
    problem: `forms a dependency cycle: ${path.map((node) => name(Number(node))).join(' → ')} (→ reads "depends on")`,
  }));
}
