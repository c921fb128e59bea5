/**
 * Unknown fields of an options object. Each options interface keeps the list of its fields beside
 * it, as an object `{ field: true }` declared `satisfies KnownFields<TheOptions>`: a field added to
 * the interface and not to the list (or listed and not in the interface) does not compile, so a
 * new option is accepted the day it exists and a typo never is.
 */
import type { FieldProblem } from './errors.ts';

/** Every field of `T`, each `true`. */
export type KnownFields<T> = { readonly [K in keyof T & string]-?: true };

/**
 * One problem per own enumerable string key of `value` that `known` does not have (as its own
 * key: `constructor` or `toString` are not known because every object inherits them), named
 * `<at>.<key>` (just `<key>` at the top level, `at` empty). `problem` says what the key is not,
 * e.g. `is not a pool option`. Undefined has no fields; anything else that is not a plain object
 * (null, an array, a number) is one problem of `at`. Only the keys are read, never a value, and a
 * Proxy whose traps throw is a problem, not a throw.
 */
export function unknownFields(value: unknown, known: object, at: string, problem: string): FieldProblem[] {
  if (value === undefined) return [];
  const where = at === '' ? 'options' : at;
  let keys: string[];
  try {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return [{ field: where, problem: 'must be an object' }];
    keys = Object.keys(value);
  } catch {
    return [{ field: where, problem: 'could not be read (a proxy trap threw)' }];
  }
  const problems: FieldProblem[] = [];
  for (const key of keys) {
    if (Object.hasOwn(known, key)) continue;
    const name = key.length > 64 ? `${key.slice(0, 64)}…` : key;
    problems.push({ field: at === '' ? name : `${at}.${name}`, problem });
  }
  return problems;
}
