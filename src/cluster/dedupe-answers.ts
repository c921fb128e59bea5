/**
 * A submit through another node's inbox resolves with an id the owner chose when the payload had a
 * dedupe key (throttle: the window's first id; debounce: the held one). The owner keeps, for a
 * while, which id each such payload was answered with; the submitting node asks for it (a `dedupe`
 * call) once Redis took the inbox entry. Bounded: the oldest answers go first.
 */
import type { Payload } from '../payload.ts';

/** Answers kept per node; a caller asks within seconds of its submit. */
const KEPT = 10_000;

export class DedupeAnswers {
  private readonly answers = new Map<string, string>();

  /**
   * The owner took in `payload` as `id` (another payload's id when it was deduplicated). Kept for
   * a payload taken in as itself too, so the caller's first ask is answered without waiting for
   * the inbox to be read up to it.
   */
  record(payload: Payload, id: string): void {
    if (payload.dedupe === undefined) return;
    this.answers.set(payload.id, id);
    if (this.answers.size > KEPT) this.answers.delete(this.answers.keys().next().value as string);
  }

  /** The id a submitted payload was answered with; undefined when not taken in yet (or forgotten). */
  answerOf(submittedId: string): string | undefined {
    return this.answers.get(submittedId);
  }
}

/** For the submitting side: asks the owner which id each dedupe payload got (the others keep theirs). */
export async function dedupedIds(payloads: readonly Payload[], ask: (id: string) => Promise<unknown>): Promise<string[]> {
  return Promise.all(payloads.map(async (p) => (p.dedupe === undefined ? p.id : (((await ask(p.id)) as string | undefined) ?? p.id))));
}
