/**
 * Cycles of a graphlib graph as paths a person can read (`a → b → a`), for the errors of both
 * workflow definitions and dependency batches.
 */
import { alg, type Graph } from '@dagrejs/graphlib';

/** Every cycle, each as a path from its lowest-ranked member back to itself. */
export function cyclePaths(graph: Graph, rank: (node: string) => number): string[][] {
  return alg.findCycles(graph).map((members) => {
    const start = [...members].sort((a, b) => rank(a) - rank(b))[0] as string;
    return pathThrough(graph, start, new Set(members));
  });
}

/** A shortest path start → … → start inside one strongly connected component (breadth first). */
function pathThrough(graph: Graph, start: string, members: ReadonlySet<string>): string[] {
  const from = new Map<string, string>();
  const queue = [start];
  for (let i = 0; i < queue.length; i++) {
    const at = queue[i] as string;
    for (const next of graph.successors(at) ?? []) {
      if (!members.has(next)) continue;
      if (next === start) {
        const path = [start];
        for (let step: string | undefined = at; step !== undefined && step !== start; step = from.get(step)) path.splice(1, 0, step);
        return [...path, start];
      }
      if (!from.has(next)) {
        from.set(next, at);
        queue.push(next);
      }
    }
  }
  return [start, start];
}
