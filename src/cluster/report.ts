/** Background loops report errors through a hook; a hook that throws must not break the loop. */
export function reportTo(onError: ((error: unknown) => void) | undefined, error: unknown): void {
  try {
    onError?.(error);
  } catch {
    // An error hook that throws has nowhere left to report to.
  }
}
