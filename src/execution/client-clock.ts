/**
 * Fairness between clients across partitions: start-time fair queuing. Each client has a virtual
 * finish tag; a grant to a client's work starts at its tag (or at the virtual time, when the
 * client was idle: no credit is banked while away) and moves the tag on by the slots granted over
 * its weight. Work of the client with the smallest tag goes next, so flooding clients share the
 * slots by weight whichever partitions their work is in (a flood sharded to one partition is a
 * client like any other), and a client just arrived is served at once.
 */

/** Past this many clients known, those whose tag the virtual time passed are forgotten (they count as idle anyway). */
const PRUNE_AT = 10_000;

export class ClientClock {
  private readonly finish = new Map<string, number>();
  /** The start tag of the latest grant: where an idle client starts. */
  private virtual = 0;

  constructor(private readonly quantumOf: (clientId: string) => number) {}

  /** The tag the client's next grant would start at. */
  tag(clientId: string | undefined): number {
    if (clientId === undefined) return this.virtual;
    const finish = this.finish.get(clientId);
    return finish === undefined || finish < this.virtual ? this.virtual : finish;
  }

  /** `slots` were granted to the client's work. */
  charge(clientId: string | undefined, slots: number): void {
    if (clientId === undefined) return;
    const start = this.tag(clientId);
    if (start > this.virtual) this.virtual = start;
    this.finish.set(clientId, start + slots / this.quantumOf(clientId));
    if (this.finish.size > PRUNE_AT) this.prune();
  }

  /** The client's weight over the sum of the weights of `clients` (it among them). */
  shareOf(clientId: string | undefined, clients: Iterable<string>): number {
    if (clientId === undefined) return 0;
    let sum = 0;
    for (const client of clients) sum += this.quantumOf(client);
    return sum > 0 ? this.quantumOf(clientId) / sum : 1;
  }

  private prune(): void {
    for (const [clientId, finish] of this.finish) if (finish <= this.virtual) this.finish.delete(clientId);
  }
}
