/**
 * The types a workflow definition is checked against. A definition names its handlers by type
 * string and gets their data and result types from a handlers module it imports with
 * `import type` (`typeof handlers`), so the workflow file carries no handler code, and
 * TypeScript checks every step's input mapping against the handler it feeds.
 */
import type { BackoffOptions, Tier } from '../payload.ts';

/** A handler as a workflow sees it: only its data and result types matter. */
// `any` in the data position: a handler that takes `{ sku: string }` must be accepted here.
export type AnyHandler = (data: any, ...rest: any[]) => unknown;

/** Handlers by payload type, e.g. `typeof handlers` of a handlers module. */
export type HandlerTypes = { readonly [type: string]: AnyHandler };

export type HandlerName<H> = keyof H & string;

/** What the handler of type `T` takes as data. */
export type InputOf<H, T extends keyof H> = H[T] extends (data: infer D, ...rest: never[]) => unknown ? D : never;

/** What the handler of type `T` resolves with. */
export type OutputOf<H, T extends keyof H> = H[T] extends (...args: never[]) => infer R ? Awaited<R> : never;

/** What a step's mapping functions see: the workflow input and the results of the steps it runs after. */
export interface Scope<I, R> {
  readonly input: I;
  readonly results: R;
}

/** A fan-out item's mapping sees its item and position too. */
export interface ItemScope<I, R, X> extends Scope<I, R> {
  readonly item: X;
  readonly index: number;
}

/** Options a step passes to the payloads it submits. */
export interface StepOptions {
  /** 1–10 or `critical|high|medium|low`. Default: the runtime's default (medium). */
  readonly priority?: number | Tier;
  /** The client's estimate of cost, 1–10. Default 1. */
  readonly complexity?: number;
  /** Handler timeout per attempt, ms. Default: the handler's. */
  readonly timeout?: number;
  /** Retries after the first attempt. Default: the handler's. */
  readonly retries?: number;
  readonly backoff?: BackoffOptions;
  /** Labels for the step's payloads (load policies match on them, e.g. `speculative`). */
  readonly tags?: readonly string[];
}

/** An undo step for a completed step, run (latest first) when a later step fails or the workflow is cancelled. */
export type CompensationSpec<I, R, H, Extra> = {
  readonly [C in HandlerName<H>]: StepOptions & {
    readonly handler: C;
    /** The undo handler's data; `result` is what the step being undone returned. */
    readonly input: (scope: Scope<I, R> & Extra) => InputOf<H, C>;
  };
}[HandlerName<H>];

interface BaseSpec<I, R, H, T extends HandlerName<H>, A extends keyof R> extends StepOptions {
  /** The handler type that runs this step. */
  readonly handler: T;
  /** Steps that must end first; their results are what `input` sees. Default: none (starts at once). */
  readonly after?: readonly A[];
  /** A failure (or load skip) of an optional step does not fail the workflow: its result is undefined. */
  readonly optional?: boolean;
  /** Runs the step only when this holds; otherwise it is skipped and its result is undefined. */
  readonly when?: (scope: Scope<I, Pick<R, A>>) => boolean;
}

export interface StepSpec<I, R, H, T extends HandlerName<H>, A extends keyof R> extends BaseSpec<I, R, H, T, A> {
  /** The handler's data, from the workflow input and earlier results. */
  readonly input: (scope: Scope<I, Pick<R, A>>) => InputOf<H, T>;
  readonly compensate?: CompensationSpec<I, Pick<R, A>, H, { readonly result: OutputOf<H, T> }>;
}

export interface EachSpec<I, R, H, T extends HandlerName<H>, A extends keyof R, X> extends BaseSpec<I, R, H, T, A> {
  /** The items to fan out over: one payload per item, run in parallel; the step's result is their results in order. */
  readonly over: (scope: Scope<I, Pick<R, A>>) => readonly X[];
  readonly input: (scope: ItemScope<I, Pick<R, A>, X>) => InputOf<H, T>;
  /** Undoes one completed item. */
  readonly compensate?: CompensationSpec<I, Pick<R, A>, H, { readonly result: OutputOf<H, T>; readonly item: X; readonly index: number }>;
}
