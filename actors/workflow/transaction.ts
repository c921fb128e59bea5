/**
 * One transition of a workflow instance in progress: local copies of the state's fields (a step is
 * copied on its first change), the rules for starting, ending and undoing steps, and the effects
 * they ask for. reducer.ts hands the changed fields to immer once at the end.
 */
import type { PayloadFailure } from '../../src/errors.ts';
import type { RuntimeScope, StepDefinition } from '../../src/dsl/definition.ts';
import type { StepOptions } from '../../src/dsl/types.ts';
import type { PayloadInput } from '../../src/payload.ts';
import type { StepOutcome, SubmittedRef, WorkflowEffect, WorkflowEvent, WorkflowEventType } from './messages.ts';
import type { WorkflowEnv } from './reducer.ts';
import { inputFailure, isResolved, resolvedCount, resultsOf, type ItemRef, type StepState, type WorkflowState } from './state.ts';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type StepDraft = Mutable<StepState> & { payloads: (string | undefined)[]; results: unknown[]; done: boolean[] };

export class WorkflowTx {
  private readonly s: Mutable<WorkflowState>;
  private readonly steps: Record<string, StepState>;
  /** `completions`, copied on the first append of this transition (a fan-out appends once per item). */
  private completions: ItemRef[] | undefined;
  private readonly drafts = new Map<string, StepDraft>();
  private readonly now: number;

  constructor(base: WorkflowState, private readonly effects: WorkflowEffect[], private readonly env: WorkflowEnv) {
    this.s = { ...base };
    this.steps = { ...base.steps };
    this.now = env.now();
  }

  /** The fields that changed, for immer to merge (unchanged ones are not touched). */
  changes(base: WorkflowState): Partial<WorkflowState> {
    if (this.completions) this.s.completions = this.completions;
    if (this.drafts.size > 0) this.s.steps = this.steps;
    const changed: Partial<Mutable<WorkflowState>> = {};
    for (const key of Object.keys(this.s) as Array<keyof WorkflowState>) {
      if (this.s[key] !== base[key]) (changed as Record<string, unknown>)[key] = this.s[key];
    }
    return changed;
  }

  submitted(ref: SubmittedRef): void {
    if (ref.purpose !== 'step') return;
    const step = this.step(ref.step);
    step.payloads[ref.index] = ref.id;
    // Submitted while the instance began to end (the id was not known then): cancel it now.
    if (this.s.status !== 'running') this.effects.push({ kind: 'cancel', ids: [ref.id] });
  }

  settled(outcome: StepOutcome): void {
    if (outcome.purpose === 'compensation') this.compensationEnded(outcome);
    else this.stepItemEnded(outcome);
  }

  cancel(): boolean {
    if (this.s.status !== 'running') return false;
    this.beginEnding('cancelled', undefined);
    return true;
  }

  /** Submits every pending step whose `after` steps are resolved; completes the instance when all are. */
  advance(): void {
    if (this.s.status !== 'running') return;
    let results: Record<string, unknown> | undefined;
    for (const def of this.env.definition.steps) {
      const current = this.steps[def.name] as StepState;
      if (current.status !== 'pending' || !def.after.every((name) => this.resolved(name))) continue;
      results ??= this.results();
      const scope: RuntimeScope = { input: this.s.input, results };
      let field = 'when';
      try {
        if (def.when && def.when(scope) !== true) {
          const step = this.step(def.name);
          step.status = 'skipped';
          step.finishedAt = this.now;
          results[def.name] = undefined;
          this.emit('step-skipped', def.name);
          continue;
        }
        field = def.kind === 'each' ? 'over' : 'input';
        const items = def.kind === 'each' ? (def.over as (scope: RuntimeScope) => unknown)(scope) : [undefined];
        if (!Array.isArray(items)) throw new TypeError('must return an array');
        field = 'input';
        this.startStep(def, scope, items);
        if (def.kind === 'each' && items.length === 0) results[def.name] = [];
      } catch (error) {
        const step = this.step(def.name);
        step.status = 'failed';
        step.error = inputFailure(def.name, field, error);
        this.emit('step-failed', def.name, { error: step.error });
        this.beginEnding('failed', { step: def.name, error: step.error });
        return;
      }
    }
    if (this.env.definition.steps.every((def) => this.resolved(def.name))) this.complete(results ?? this.results());
  }

  /**
   * After recovery: every started item whose outcome is not known is submitted again. Its
   * idempotency key hands back the payload it already had, if that was accepted, so nothing runs
   * twice that was stored once; an ending instance cancels them again (see `submitted`). A
   * compensation that was running is submitted again the same way.
   */
  resume(): void {
    const s = this.s;
    if (s.status !== 'running' && s.status !== 'compensating') return;
    let results: Record<string, unknown> | undefined;
    for (const def of this.env.definition.steps) {
      const current = this.steps[def.name] as StepState;
      if (current.total === 0 || current.ended >= current.total) continue;
      results ??= this.results();
      const scope: RuntimeScope = { input: s.input, results };
      try {
        const items = def.kind === 'each' ? (def.over as (scope: RuntimeScope) => unknown[])(scope) : [undefined];
        current.done.forEach((done, index) => {
          if (!done) this.submit(def.name, index, 'step', def.handler, def.input(def.kind === 'each' ? { ...scope, item: items[index], index } : scope), def.options);
        });
      } catch (error) {
        const failure = inputFailure(def.name, 'input', error);
        current.done.forEach((done, index) => !done && this.stepItemEnded({ step: def.name, index, purpose: 'step', status: 'failed', error: failure }));
      }
    }
    if (s.compensating) {
      const ref = s.compensating;
      try {
        this.submitCompensation(ref);
      } catch (error) {
        s.compensating = undefined;
        this.compensationFailed(ref, inputFailure(ref.step, 'compensate.input', error));
        this.nextCompensation();
      }
    }
    this.advance();
  }

  /** An ending instance finishes once its compensations have run and no step payload is outstanding. */
  maybeFinishEnding(): void {
    const s = this.s;
    if (s.status !== 'compensating' || s.compensating || s.compensationQueue.length > 0 || s.outstanding > 0) return;
    this.finish(s.ending ?? 'failed', undefined);
  }

  emit(type: WorkflowEventType, step: string | undefined, extra?: { result?: unknown; error?: PayloadFailure }): void {
    const event: WorkflowEvent = {
      type,
      instanceId: this.s.id,
      workflow: this.s.workflow,
      at: this.now,
      step,
      done: resolvedCount({ ...this.s, steps: this.steps }, this.env.definition),
      total: this.env.definition.steps.length,
      ...extra,
    };
    this.effects.push({ kind: 'event', event });
  }

  private startStep(def: StepDefinition, scope: RuntimeScope, items: readonly unknown[]): void {
    const step = this.step(def.name);
    step.total = items.length;
    step.payloads = new Array<string | undefined>(items.length).fill(undefined);
    step.results = new Array<unknown>(items.length).fill(undefined);
    step.done = new Array<boolean>(items.length).fill(false);
    step.items = def.kind === 'each' && def.compensate ? items : undefined;
    step.startedAt = this.now;
    if (items.length === 0) {
      step.status = 'completed';
      step.finishedAt = this.now;
      this.emit('step-started', def.name);
      this.emit('step-completed', def.name, { result: [] });
      return;
    }
    const payloads = items.map((item, index) => def.input(def.kind === 'each' ? { ...scope, item, index } : scope));
    step.status = 'running';
    this.emit('step-started', def.name);
    payloads.forEach((data, index) => this.submit(def.name, index, 'step', def.handler, data, def.options));
    this.s.outstanding += payloads.length;
  }

  private stepItemEnded(outcome: StepOutcome): void {
    const def = this.env.stepsByName.get(outcome.step);
    if (!def || (this.steps[outcome.step] as StepState).done[outcome.index] !== false) return;
    const step = this.step(outcome.step);
    step.done[outcome.index] = true;
    this.s.outstanding--;
    step.ended++;
    const ending = this.s.status !== 'running';
    if (outcome.status === 'completed') {
      step.results[outcome.index] = outcome.result;
      const ref: ItemRef = { step: outcome.step, index: outcome.index };
      (this.completions ??= [...this.s.completions]).push(ref);
      // Completed although the instance was already ending (the cancel came too late): undo it first.
      if (ending) {
        if (def.compensate) this.s.compensationQueue = [ref, ...this.s.compensationQueue];
        this.nextCompensation();
        return;
      }
    } else {
      if (ending) return;
      step.error ??= outcome.error;
      if (!def.optional) {
        step.status = 'failed';
        step.finishedAt = this.now;
        const error = outcome.error ?? { code: 'HANDLER_FAILED', message: outcome.status, name: 'Error' };
        this.emit('step-failed', outcome.step, { error });
        this.beginEnding('failed', { step: outcome.step, error });
        return;
      }
    }
    if (step.ended < step.total) return;
    step.finishedAt = this.now;
    // An optional plain step that failed stays `failed` (and counts as resolved); a fan-out completes with holes.
    step.status = def.kind === 'step' && outcome.status !== 'completed' ? 'failed' : 'completed';
    if (step.status === 'failed') this.emit('step-failed', outcome.step, { error: step.error });
    else this.emit('step-completed', outcome.step, { result: def.kind === 'each' ? step.results : step.results[0] });
  }

  private beginEnding(target: 'failed' | 'cancelled', failure: WorkflowState['failure']): void {
    const s = this.s;
    s.status = 'compensating';
    s.ending = target;
    s.failure = failure;
    const ids: string[] = [];
    for (const def of this.env.definition.steps) {
      const current = this.steps[def.name] as StepState;
      // Running steps, and the failing fan-out's other items, still have payloads out.
      if (current.ended >= current.total || (current.status !== 'running' && current.status !== 'failed')) continue;
      const step = this.step(def.name);
      if (step.status === 'running') step.status = 'cancelled';
      step.finishedAt = this.now;
      for (const id of step.payloads) if (id !== undefined) ids.push(id); // cancelling one that ended is a no-op
    }
    if (ids.length > 0) this.effects.push({ kind: 'cancel', ids });
    s.compensationQueue = [...(this.completions ?? s.completions)].reverse().filter((ref) => this.env.stepsByName.get(ref.step)?.compensate !== undefined);
    this.nextCompensation();
  }

  private nextCompensation(): void {
    const s = this.s;
    if (s.compensating) return;
    while (s.compensationQueue.length > 0) {
      const [ref, ...rest] = s.compensationQueue as [ItemRef, ...ItemRef[]];
      s.compensationQueue = rest;
      try {
        this.submitCompensation(ref);
        this.step(ref.step).status = 'compensating';
        s.compensating = ref;
        this.emit('compensation-started', ref.step);
        return;
      } catch (error) {
        this.compensationFailed(ref, inputFailure(ref.step, 'compensate.input', error));
      }
    }
  }

  /** Submits the undo of one completed item. Throws what its input function throws. */
  private submitCompensation(ref: ItemRef): void {
    const def = this.env.stepsByName.get(ref.step) as StepDefinition;
    const compensate = def.compensate as NonNullable<StepDefinition['compensate']>;
    const step = this.steps[ref.step] as StepState;
    const scope: RuntimeScope = {
      input: this.s.input,
      results: this.results(),
      result: step.results[ref.index],
      ...(def.kind === 'each' && { item: step.items?.[ref.index], index: ref.index }),
    };
    const data = compensate.input(scope);
    this.submit(ref.step, ref.index, 'compensation', compensate.handler, data, { priority: 'high', ...compensate.options });
  }

  private compensationEnded(outcome: StepOutcome): void {
    const ref = this.s.compensating;
    if (!ref || ref.step !== outcome.step || ref.index !== outcome.index) return;
    this.s.compensating = undefined;
    if (outcome.status === 'completed') {
      this.emit('compensation-completed', ref.step);
      this.compensationSettled(ref.step);
    } else {
      this.compensationFailed(ref, outcome.error ?? { code: 'HANDLER_FAILED', message: outcome.status, name: 'Error' });
    }
    this.nextCompensation();
  }

  private compensationFailed(ref: ItemRef, error: PayloadFailure): void {
    this.s.compensationFailures = { ...this.s.compensationFailures, [ref.step]: error };
    this.emit('compensation-failed', ref.step, { error });
    this.compensationSettled(ref.step);
  }

  /** A step's status once none of its items is left to undo. */
  private compensationSettled(name: string): void {
    if (this.s.compensationQueue.some((r) => r.step === name)) return;
    this.step(name).status = name in this.s.compensationFailures ? 'compensation-failed' : 'compensated';
  }

  private complete(results: Record<string, unknown>): void {
    try {
      this.finish('completed', this.env.definition.output({ input: this.s.input, results }));
    } catch (error) {
      this.beginEnding('failed', { step: '(output)', error: inputFailure('(output)', 'output', error) });
    }
  }

  private finish(status: 'completed' | 'failed' | 'cancelled', result: unknown): void {
    const s = this.s;
    s.status = status;
    s.result = result;
    s.finishedAt = this.now;
    this.emit(status, s.failure?.step, status === 'completed' ? { result } : status === 'failed' ? { error: s.failure?.error } : undefined);
    this.effects.push({ kind: 'finish' });
  }

  private submit(step: string, index: number, purpose: 'step' | 'compensation', handler: string, data: unknown, options: StepOptions): void {
    // The key names the item: a submit repeated after recovery gets the payload it already had.
    const idempotencyKey = `${this.s.id}:${purpose}:${step}:${index}`;
    const payload: PayloadInput = { type: handler, data, clientId: this.env.clientId, shardKey: this.env.shardKey, ...options, idempotencyKey };
    this.effects.push({ kind: 'submit', step, index, purpose, payload });
  }

  private results(): Record<string, unknown> {
    return resultsOf(this.steps, this.env.definition);
  }

  private resolved(name: string): boolean {
    const def = this.env.stepsByName.get(name);
    return def !== undefined && isResolved(this.steps[name], def.optional);
  }

  private step(name: string): StepDraft {
    let draft = this.drafts.get(name);
    if (!draft) {
      const base = this.steps[name] as StepState;
      draft = { ...base, payloads: [...base.payloads], results: [...base.results], done: [...base.done] };
      this.drafts.set(name, draft);
      this.steps[name] = draft;
    }
    return draft;
  }
}
