/**
 * The admin HTTP server on `node:http`. `createAdminServer` returns the server without listening
 * (tests drive it in-process); `listenAdmin` refuses an address other machines can reach unless a
 * token protects it, then listens.
 *
 * Every failure is answered as JSON `{ error: { code, message, field? } }` with the status its code
 * maps to; an unexpected error is logged and answered as a bare 500 — never a stack trace.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { stderrLogger, type Logger } from '../execution/handlers.ts';
import { AdminError } from './errors.ts';
import { bearerToken, checkQuery, readJson, send, sendJson, tokensMatch } from './http.ts';
import { match } from './routes.ts';
import type { AdminSources } from './sources.ts';
import { unknownFields, type KnownFields } from '../known-fields.ts';

export interface AdminServerOptions {
  /**
   * Bearer token for operator actions (cancel, pin/release the load level, reschedule the ledger,
   * throttle). At least 16 visible characters. Default none: operator actions answer 403.
   */
  readonly token?: string;
  /**
   * Host names (without port) the `Host` header may name; others get 403. `listenAdmin` on a
   * loopback address sets the loopback names, so a web page cannot reach the server through DNS
   * rebinding. Default: any host.
   */
  readonly allowedHosts?: readonly string[];
  /** Largest request body, bytes. Default 65,536. */
  readonly maxBodyBytes?: number;
  /**
   * Most time a client may take to send its request headers, ms; the connection is closed after
   * it (checked every second, not at Node's default of every 30 s). Default 10,000.
   */
  readonly headersTimeoutMs?: number;
  /** Most connections open at once; more are closed as they arrive. Default 128. */
  readonly maxConnections?: number;
  /** Where unexpected errors are logged. Default: stderr as JSON lines. */
  readonly logger?: Logger;
}

const SERVER_FIELDS = {
  token: true, allowedHosts: true, maxBodyBytes: true, headersTimeoutMs: true, maxConnections: true, logger: true,
} as const satisfies KnownFields<AdminServerOptions>;

export interface ListenOptions extends AdminServerOptions {
  /** Default 7070; 0 picks a free port. */
  readonly port?: number;
  /** Default `127.0.0.1`. Any other address needs a `token`. */
  readonly host?: string;
}

const LISTEN_FIELDS = { ...SERVER_FIELDS, port: true, host: true } as const satisfies KnownFields<ListenOptions>;

/**
 * Unknown fields of `createServer` (`server`) or `listen` options, refused as the admin's other
 * option problems are: AdminError INVALID_ADMIN_OPTIONS, naming the first field, listing them all.
 */
export function refuseUnknownAdminOptions(options: unknown, kind: 'server' | 'listen'): void {
  const problems = unknownFields(options, kind === 'server' ? SERVER_FIELDS : LISTEN_FIELDS, '', 'is not an admin option');
  const first = problems[0];
  if (first) throw new AdminError('INVALID_ADMIN_OPTIONS', `invalid admin options: ${problems.map((p) => `${p.field} ${p.problem}`).join('; ')}`, first.field);
}

export interface AdminListener {
  readonly server: Server;
  /** `http://host:port/` as a browser would open it. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

export const DEFAULT_ADMIN_PORT = 7070;
export const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '::1', '[::1]'] as const;

export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h) || /^::ffff:127(\.\d{1,3}){3}$/.test(h);
}

function checkToken(token: string | undefined): void {
  if (token === undefined) return;
  if (typeof token !== 'string' || !/^[\x21-\x7e]{16,512}$/.test(token)) {
    throw new AdminError('INVALID_ADMIN_OPTIONS', 'admin token must be 16 to 512 visible ASCII characters (no spaces)', 'token');
  }
}

export function createAdminServer(sources: AdminSources, options: AdminServerOptions = {}): Server {
  refuseUnknownAdminOptions(options, 'server');
  checkToken(options.token);
  const logger = options.logger ?? stderrLogger;
  const maxBody = options.maxBodyBytes ?? 65_536;
  const allowedHosts = options.allowedHosts?.map((h) => h.toLowerCase());

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const head = req.method === 'HEAD';
    try {
      if (allowedHosts && !allowedHosts.includes(hostName(req.headers.host))) {
        throw new AdminError('HOST_NOT_ALLOWED', `host ${JSON.stringify(req.headers.host ?? '')} is not served here`);
      }
      const target = req.url ?? '/';
      const cut = target.indexOf('?');
      const path = cut < 0 ? target : target.slice(0, cut);
      const query = new URLSearchParams(cut < 0 ? '' : target.slice(cut + 1));
      const found = match(req.method ?? 'GET', path);
      if (!found) throw new AdminError('NOT_FOUND', `no endpoint at ${path}; GET /api lists them`);
      if (!('route' in found)) {
        const allow = found.allowed.join(', ');
        res.setHeader('allow', allow);
        throw new AdminError('METHOD_NOT_ALLOWED', `${req.method ?? ''} is not allowed on ${path}; allowed: ${allow}`);
      }
      const { route, params } = found;
      if (route.action) authorize(req, res, options.token);
      checkQuery(query, route.query);
      const body = route.method === 'POST' ? await readJson(req, maxBody) : undefined;
      const reply = await route.handle({ sources, params, query, body, actions: options.token !== undefined });
      if ('json' in reply) sendJson(res, reply.status, reply.json, {}, head);
      else send(res, reply.status, reply.contentType, reply.text, reply.headers, head);
    } catch (error) {
      const known = asAdminError(error);
      if (!known) logger.error('admin request failed', { method: req.method, url: req.url, error: String(error) });
      const answer = known ?? new AdminError('INTERNAL', 'internal error; the server log has the details');
      if (answer.code === 'PAYLOAD_TOO_LARGE') res.setHeader('connection', 'close');
      if (!res.headersSent) sendJson(res, answer.status, answer.toJSON(), {}, head);
      else res.destroy();
    }
  };

  // An admin endpoint serves small, quick requests; a slow client must not hold a socket for long.
  // Node enforces both timeouts only when it checks its connections: every 30 s by default, so a
  // client dripping header bytes was held three times longer than the limit said.
  const headersTimeout = positiveInteger(options.headersTimeoutMs, 10_000, 'headersTimeoutMs');
  const server = createServer(
    { headersTimeout, requestTimeout: Math.max(30_000, headersTimeout), connectionsCheckingInterval: Math.min(1_000, headersTimeout) },
    (req, res) => void handle(req, res),
  );
  server.maxConnections = positiveInteger(options.maxConnections, 128, 'maxConnections');
  return server;
}

function positiveInteger(value: unknown, fallback: number, field: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new AdminError('INVALID_ADMIN_OPTIONS', `${field} must be a whole number ≥ 1, got ${String(value)}`, field);
  }
  return value;
}

function authorize(req: IncomingMessage, res: ServerResponse, token: string | undefined): void {
  if (token === undefined) {
    throw new AdminError('ACTIONS_DISABLED', 'operator actions are off: the admin server was started without a token');
  }
  const given = bearerToken(req);
  res.setHeader('www-authenticate', 'Bearer realm="triage-admin"');
  if (given === undefined) throw new AdminError('UNAUTHORIZED', 'operator actions need an "Authorization: Bearer <token>" header');
  if (!tokensMatch(given, token)) throw new AdminError('UNAUTHORIZED', 'the bearer token is not valid');
}

/** Errors with a known meaning; anything else is a bug and is answered as a bare 500. */
function asAdminError(error: unknown): AdminError | undefined {
  if (error instanceof AdminError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'RUNTIME_STOPPED') return new AdminError('RUNTIME_STOPPED', 'the runtime is stopped');
  if (code === 'STORE_UNAVAILABLE') return new AdminError('STORE_UNAVAILABLE', 'the durable store is unavailable; try again when it is back');
  return undefined;
}

function hostName(header: string | undefined): string {
  if (!header) return '';
  const h = header.toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  const colon = h.lastIndexOf(':');
  return colon < 0 ? h : h.slice(0, colon);
}

/**
 * Listens on `host:port` (default 127.0.0.1:7070). An address other machines can reach is refused
 * without a token: the read endpoints show payload data, and actions must never be open.
 */
export async function listenAdmin(sources: AdminSources, options: ListenOptions = {}): Promise<AdminListener> {
  refuseUnknownAdminOptions(options, 'listen');
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? DEFAULT_ADMIN_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new AdminError('INVALID_ADMIN_OPTIONS', `admin port must be a whole number between 0 and 65535, got ${String(port)}`, 'port');
  }
  const loopback = isLoopback(host);
  if (!loopback && options.token === undefined) {
    throw new AdminError(
      'INSECURE_BIND',
      `refusing to serve the admin endpoint on ${host}, which other machines can reach, without a token: set a token (TRIAGE_ADMIN_TOKEN) or listen on 127.0.0.1`,
      'host',
    );
  }
  const { port: _port, host: _host, ...serverOptions } = options;
  const server = createAdminServer(sources, { ...serverOptions, allowedHosts: options.allowedHosts ?? (loopback ? [...LOOPBACK_HOSTS, host] : undefined) });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;
  return {
    server,
    url: `http://${shown}:${address.port}/`,
    host: address.address,
    port: address.port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
