/**
 * Small HTTP helpers for the admin server on plain `node:http`: JSON replies, bounded JSON bodies,
 * query parameters checked by name, bearer tokens compared in constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AdminError } from './errors.ts';

const COMMON_HEADERS = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' } as const;

export function send(res: ServerResponse, status: number, contentType: string, body: string, headers: Record<string, string> = {}, head = false): void {
  const bytes = Buffer.from(body, 'utf8');
  res.writeHead(status, { ...COMMON_HEADERS, 'content-type': contentType, 'content-length': String(bytes.length), ...headers });
  res.end(head ? undefined : bytes);
}

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}, head = false): void {
  send(res, status, 'application/json; charset=utf-8', `${JSON.stringify(value)}\n`, headers, head);
}

/** Reads a JSON body of at most `limit` bytes; an empty body is `undefined`. */
export function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      req.resume(); // drain, so the reply can be read by the client
      reject(new AdminError('PAYLOAD_TOO_LARGE', `request body is larger than ${limit} bytes`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit && !failed) {
        failed = true;
        reject(new AdminError('PAYLOAD_TOO_LARGE', `request body is larger than ${limit} bytes`));
      }
      if (!failed) chunks.push(chunk);
    });
    req.on('error', (error) => reject(new AdminError('BAD_REQUEST', `request body could not be read: ${error.message}`)));
    req.on('end', () => {
      if (failed) return;
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') return resolve(undefined);
      try {
        resolve(JSON.parse(text));
      } catch (error) {
        reject(new AdminError('BAD_JSON', `request body is not valid JSON: ${(error as Error).message}`));
      }
    });
  });
}

/** Rejects query parameters the endpoint does not take, naming them. */
export function checkQuery(query: URLSearchParams, allowed: readonly string[]): void {
  for (const name of new Set(query.keys())) {
    if (!allowed.includes(name)) {
      const takes = allowed.length === 0 ? 'takes no query parameters' : `takes only ${allowed.join(', ')}`;
      throw new AdminError('BAD_REQUEST', `unknown query parameter ${JSON.stringify(name)}: this endpoint ${takes}`, name);
    }
  }
}

/** A whole-number query parameter in [min, max], or `fallback` when absent. */
export function intParam(query: URLSearchParams, name: string, fallback: number, min: number, max: number): number {
  const raw = query.get(name);
  if (raw === null) return fallback;
  const value = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new AdminError('BAD_REQUEST', `${name} must be a whole number between ${min} and ${max}, got ${JSON.stringify(raw)}`, name);
  }
  return value;
}

/** The token of an `Authorization: Bearer <token>` header, if there is one. */
export function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/** Compares digests, so neither the length nor the content of the token leaks through timing. */
export function tokensMatch(given: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** A path segment, percent-decoded; malformed escapes are bad input, not a crash. */
export function decodeSegment(segment: string, what: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new AdminError('BAD_REQUEST', `${what} is not valid percent-encoding: ${JSON.stringify(segment)}`, what);
  }
}
