/**
 * An actor's own FIFO of messages. Pushing and shifting are O(1) amortised: shifted slots are
 * cleared (so their messages can be collected) and the array is compacted once its dead head
 * outweighs what is still queued.
 */
export class Mailbox<M> {
  private items: Array<M | undefined> = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(message: M): void {
    this.items.push(message);
  }

  /** The oldest message; undefined when empty. */
  shift(): M | undefined {
    if (this.head === this.items.length) return undefined;
    const message = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return message;
  }
}
