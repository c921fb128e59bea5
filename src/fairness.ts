/**
 * Fair sharing of a tier between clients: each client's weight, and the share of a round of the
 * mailbox's deficit round robin it gets (actors/partition/mailbox.ts). One object per runtime, read
 * by every partition's mailbox when it serves; `runtime.setFairness` changes it in place, so a new
 * weight holds from the next payload served.
 */
import { OptionsError, type FieldProblem } from './errors.ts';
import { unknownFields, type KnownFields } from './known-fields.ts';

export interface FairnessOptions {
  /** Weight per client id: a client of weight 3 is served three payloads to a weight-1 client's one while both wait. */
  readonly weights?: Readonly<Record<string, number>>;
  /** The weight of every client not in `weights`. Default 1. */
  readonly defaultWeight?: number;
}

const MAX_WEIGHT = 1_000_000;
const FAIRNESS_FIELDS = { weights: true, defaultWeight: true } as const satisfies KnownFields<FairnessOptions>;

/** The client weights in force. */
export interface FairnessView {
  readonly weights: Readonly<Record<string, number>>;
  readonly defaultWeight: number;
}

export class ClientShares {
  private weights = new Map<string, number>();
  private defaultWeight = 1;
  /** The smallest weight in force: quanta are weights over it, so every client's quantum is at least one payload. */
  private smallest = 1;

  constructor(options: FairnessOptions = {}) {
    this.set(options);
  }

  /** Payloads a client may be served per visit of the round robin (≥ 1). */
  quantumOf(clientId: string): number {
    return (this.weights.get(clientId) ?? this.defaultWeight) / this.smallest;
  }

  /** What is in force, as options. */
  get current(): FairnessView {
    return { weights: Object.fromEntries(this.weights), defaultWeight: this.defaultWeight };
  }

  /** Replaces the weights (and the default, when given); throws OptionsError and changes nothing when they are bad. */
  set(options: FairnessOptions, field = 'fairness'): void {
    const problems = fairnessProblems(options, field);
    if (problems.length > 0) throw new OptionsError(problems);
    this.weights = new Map(Object.entries(options.weights ?? {}));
    if (options.defaultWeight !== undefined) this.defaultWeight = options.defaultWeight;
    let smallest = this.defaultWeight;
    for (const weight of this.weights.values()) if (weight < smallest) smallest = weight;
    this.smallest = smallest;
  }
}

function fairnessProblems(options: unknown, field: string): FieldProblem[] {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) return [{ field, problem: 'must be an object' }];
  const problems = unknownFields(options, FAIRNESS_FIELDS, field, 'is not a fairness option');
  const raw = options as Record<string, unknown>;
  const weight = (name: string, value: unknown): void => {
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > MAX_WEIGHT) {
      problems.push({ field: name, problem: `must be a number above 0 and at most ${MAX_WEIGHT}, got ${String(value)}` });
    }
  };
  if (raw.defaultWeight !== undefined) weight(`${field}.defaultWeight`, raw.defaultWeight);
  const weights = raw.weights;
  if (weights !== undefined) {
    if (typeof weights !== 'object' || weights === null || Array.isArray(weights)) problems.push({ field: `${field}.weights`, problem: 'must be an object of client id → weight' });
    else for (const [clientId, value] of Object.entries(weights)) weight(`${field}.weights.${clientId}`, value);
  }
  return problems;
}
