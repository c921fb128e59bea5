/**
 * Raw HTTP over a TCP socket, for requests `fetch` refuses to send (bad methods, bad header bytes,
 * broken bodies, Host tricks): what came back, or that the server closed without answering.
 */
import { connect } from 'node:net';

export interface RawAnswer {
  /** Status of the first response; undefined when the server closed without answering. */
  readonly status: number | undefined;
  readonly text: string;
  /** The client gave up waiting: neither an answer nor a close came. */
  readonly hung: boolean;
}

export function rawRequest(port: number, request: string | Buffer, waitMs = 3_000): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (hung: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1];
      resolve({ status: status === undefined ? undefined : Number(status), text, hung });
    };
    const timer = setTimeout(() => finish(chunks.length === 0), waitMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => finish(false)); // reset by the server: closed without (more of) an answer
    socket.on('close', () => finish(false));
    socket.write(request);
  });
}
