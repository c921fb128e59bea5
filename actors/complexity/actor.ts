/**
 * The complexity analyzer actor: folds measured costs into its averages and keeps, outside its
 * state, a lookup of (client, type) → observed score and weight, so routing pays two Map reads and
 * a few multiplications per payload. `suggestComplexity` answers from the committed state.
 */
import type { ActorRef, ActorSystem } from '../../src/core/actor-system.ts';
import type { LoadLevel } from '../../src/load/levels.ts';
import type { CompiledComplexity } from '../../src/load/options.ts';
import {
  effectiveScore, initialComplexityState, keyOf, observedScore, observedWeight, reduceComplexity,
  type ComplexityMessage, type ComplexityState,
} from './state.ts';
import type { PeriodicSnapshot } from '../../src/persistence/periodic-snapshot.ts';

/** What `suggestComplexity` returns: the score and the evidence behind it. */
export interface ComplexitySuggestion {
  readonly clientId: string;
  readonly type: string;
  /** The effective score the engine would route a payload with `clientScore` on, now. */
  readonly score: number;
  /** The client score it was asked about. */
  readonly clientScore: number;
  /** The observed cost alone on the 1–10 scale (undefined before the first observation): what a calibrated client would send. */
  readonly observedScore: number | undefined;
  /** How much the observed cost counts in the blend, 0–`maxWeight`. */
  readonly weight: number;
  /** The load inflation applied (0 at normal). */
  readonly inflation: number;
  readonly level: LoadLevel;
  readonly samples: number;
  readonly averages: { readonly wallMs: number; readonly cpuMs: number; readonly memoryBytes: number };
  readonly cpuSamples: number;
  readonly memorySamples: number;
}

interface Scored {
  readonly observed: number;
  readonly weight: number;
}

export interface ComplexityHandle {
  readonly ref: ActorRef<ComplexityMessage>;
  /** Effective score for routing; the client score when nothing was observed. */
  effective(clientId: string, type: string, clientScore: number): number;
  setLevel(level: LoadLevel): void;
  suggest(clientId: string, type: string, clientScore: number): ComplexitySuggestion;
  state(): ComplexityState;
  /** At boot: the averages the last snapshot kept, and where snapshots go from now on. */
  restore(saved: ComplexityState | undefined, snapshots: PeriodicSnapshot<ComplexityState>): void;
  /** Stores the latest averages now (a graceful stop). */
  flushSnapshot(): Promise<void>;
}

export function spawnComplexity(system: ActorSystem, options: CompiledComplexity): ComplexityHandle {
  let committed = initialComplexityState();
  const scores = new Map<string, Map<string, Scored>>();
  let level: LoadLevel = 'normal';
  let inflation = 0;
  let snapshots: PeriodicSnapshot<ComplexityState> | undefined;

  const ref = system.spawn<ComplexityState, ComplexityMessage>('complexity', 'complexity-analyzer', committed, {
    receive: (state, message) => reduceComplexity(state, message, options),
    afterMessage(state, message) {
      committed = state;
      snapshots?.offer(state);
      const changed = message.type === 'restore' ? state.averages.values() : message.sums.map((sums) => state.averages.get(keyOf(sums.clientId, sums.type)));
      for (const avg of changed) {
        if (!avg) continue;
        let byType = scores.get(avg.clientId);
        if (!byType) scores.set(avg.clientId, (byType = new Map()));
        byType.set(avg.type, { observed: observedScore(avg, options), weight: observedWeight(avg.samples, options) });
      }
    },
    summarize: (state) => ({ keys: state.averages.size, observations: state.observations }),
  });

  return {
    ref,
    restore(saved, store) {
      snapshots = store;
      if (saved) ref.dispatch({ type: 'restore', saved });
    },
    flushSnapshot: () => snapshots?.flush() ?? Promise.resolve(),
    effective(clientId, type, clientScore) {
      const scored = scores.get(clientId)?.get(type);
      if (!scored && inflation === 0) return clientScore;
      return effectiveScore(clientScore, scored?.observed, scored?.weight ?? 0, inflation);
    },
    setLevel(next) {
      level = next;
      inflation = options.inflation[next];
    },
    suggest(clientId, type, clientScore) {
      const avg = committed.averages.get(keyOf(clientId, type));
      const observed = avg && observedScore(avg, options);
      const weight = avg ? observedWeight(avg.samples, options) : 0;
      return {
        clientId,
        type,
        score: effectiveScore(clientScore, observed, weight, inflation),
        clientScore,
        observedScore: observed,
        weight,
        inflation,
        level,
        samples: avg?.samples ?? 0,
        averages: { wallMs: avg?.wallMs ?? 0, cpuMs: avg?.cpuMs ?? 0, memoryBytes: avg?.memoryBytes ?? 0 },
        cpuSamples: avg?.cpuSamples ?? 0,
        memorySamples: avg?.memorySamples ?? 0,
      };
    },
    state: () => committed,
  };
}
