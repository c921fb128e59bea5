/**
 * One status line at the bottom of a terminal, redrawn in place; lines printed meanwhile go above
 * it. On a pipe or file nothing is redrawn: only whole lines are written.
 */
export interface StatusSink {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export class StatusLine {
  private drawn = '';
  private ended = false;

  constructor(private readonly out: StatusSink) {}

  /** True on a terminal: `show` redraws in place. */
  get live(): boolean {
    return this.out.isTTY === true;
  }

  /** Redraws the status line (on a terminal; elsewhere nothing), cut to the terminal's width. */
  show(text: string): void {
    if (!this.live || this.ended) return;
    const width = Math.max(20, (this.out.columns ?? 80) - 1);
    this.drawn = text.length > width ? `${text.slice(0, width - 1)}…` : text;
    this.out.write(`\r\x1b[K${this.drawn}`);
  }

  /** Runs `write` (a line of its own, to this stream or another on the same terminal) above the status line. */
  above(write: () => void): void {
    if (this.drawn !== '') this.out.write('\r\x1b[K');
    write();
    if (this.drawn !== '' && !this.ended) this.out.write(this.drawn);
  }

  /** Leaves the last status on its own line; nothing is redrawn after this. */
  end(): void {
    if (this.drawn !== '' && !this.ended) this.out.write('\n');
    this.ended = true;
  }
}
