/**
 * Who waits for the runtime's boot. A boot whose store cannot be reached keeps trying to connect;
 * meanwhile `ready()` callers and waiting submits are answered at once with StoreUnavailableError
 * instead of waiting for it.
 */
import type { StoreUnavailableError } from '../errors.ts';

export interface BootGateDeps {
  readonly booted: () => Promise<void>;
  readonly isBooted: () => boolean;
  /** Why the store could not be reached, while that lasts. */
  readonly unreachable: () => StoreUnavailableError | undefined;
}

export class BootGate {
  private readonly waiting = new Set<(error: unknown) => void>();

  constructor(private readonly deps: BootGateDeps) {}

  /** Resolves once booted; rejects with the boot's error, or at once while the store is unreachable. */
  ready(): Promise<void> {
    const { booted, isBooted, unreachable } = this.deps;
    if (isBooted()) return booted();
    const away = unreachable();
    if (away) return Promise.reject(away);
    return new Promise<void>((resolve, reject) => {
      this.waiting.add(reject);
      booted().then(resolve, reject).finally(() => this.waiting.delete(reject));
    });
  }

  /** The store could not be reached: every `ready()` caller waiting now is refused. */
  refuseWaiting(error: StoreUnavailableError): void {
    for (const reject of this.waiting) reject(error);
    this.waiting.clear();
  }
}
