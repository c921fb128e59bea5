/**
 * Progress of a `triage run`: a bar redrawn in place on a terminal (steps done / total and the
 * current step), plain lines on a pipe or file, and every retry as it happens, written to stderr so stdout carries only the result.
 */
import type { WorkflowEvent } from '../../../actors/workflow/messages.ts';
import type { PayloadEvent } from '../../events.ts';

export interface ProgressSink {
  readonly write: (text: string) => unknown;
  /** True: redraw one line in place. False: one plain line per event. */
  readonly tty: boolean;
  readonly columns: number;
}

export class Progress {
  private readonly running: string[] = [];
  private drawn = false;
  private done = 0;
  private total = 0;

  constructor(private readonly sink: ProgressSink, private readonly workflow: string) {}

  update(event: WorkflowEvent): void {
    this.done = event.done;
    this.total = event.total;
    if (event.step !== undefined) {
      const at = this.running.indexOf(event.step);
      if (event.type === 'step-started' || event.type === 'compensation-started') {
        if (at === -1) this.running.push(event.step);
      } else if (at !== -1) {
        this.running.splice(at, 1);
      }
    }
    if (this.sink.tty) this.draw();
    else this.sink.write(`${this.workflow} [${event.done}/${event.total}] ${event.type}${event.step === undefined ? '' : ` ${event.step}`}${event.error ? `: ${event.error.message}` : ''}\n`);
  }

  /**
   * A failed attempt that will be retried, printed as it happens (`what` names the step or the
   * handler): on a terminal above the bar, which is drawn again below it.
   */
  retry(what: string, event: PayloadEvent): void {
    const wait = event.retryAt === undefined ? '' : `; next attempt in ${Math.max(0, Math.round(event.retryAt - event.at))} ms`;
    const line = `${this.workflow} retrying ${what}: attempt ${event.attempt ?? '?'} failed (${event.error?.message ?? 'failed'})${wait}`;
    if (!this.sink.tty) {
      this.sink.write(`${line}\n`);
      return;
    }
    this.sink.write(`\r\x1b[K${line}\n`);
    this.draw();
  }

  /** Removes the bar so the result prints on a clean line. */
  clear(): void {
    if (this.drawn) this.sink.write('\r\x1b[K');
    this.drawn = false;
  }

  private draw(): void {
    const width = 24;
    const filled = this.total === 0 ? 0 : Math.round((this.done / this.total) * width);
    const current = this.running.at(-1);
    const more = this.running.length > 1 ? ` +${this.running.length - 1}` : '';
    const line = `${this.workflow} [${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${this.done}/${this.total}${current ? `  ${current}${more}` : ''}`;
    this.sink.write(`\r\x1b[K${line.slice(0, Math.max(20, this.sink.columns - 1))}`);
    this.drawn = true;
  }
}
