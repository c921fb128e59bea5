/**
 * `triage submit`: submits one payload to a cluster through a producer client (src/client), which
 * holds no partition and runs nothing, and prints its id; with `--wait`, also its result.
 */
import { parseArgs } from 'node:util';
import { createClient } from '../../client/client.ts';
import { TriageError } from '../../errors.ts';
import type { PayloadInput } from '../../payload.ts';
import { EXIT, UsageError, type CliIo, type Command } from '../command.ts';

const usage = `usage: triage submit --redis <url> --type <type> [options]

Submits one payload to the cluster of nodes on this Redis (and prefix), without becoming a node:
the payload goes to its partition's owner, wherever that is. Prints the payload's id; with --wait,
waits for it to end and prints its result as JSON.

options:
  --redis <url>         the cluster's Redis                   env TRIAGE_REDIS_URL
  --prefix <p>          prefix of every Redis key             env TRIAGE_REDIS_PREFIX default triage
  --type <type>         the payload's type (the handler that runs it)
  --data <json>         the payload's data, as JSON           default null
  --priority <p>        1–10, or critical, high, medium, low  default medium
  --client-id <id>      the submitting client (fairness, per-client events)   default default
  --idempotency-key <k> submit at most once under this key
  --wait                wait for the payload to end and print its result
  --help                show this help

exit codes: 0 submitted (with --wait: completed) · 1 refused by the cluster, or with --wait the
            payload did not complete (failed, cancelled, …) · 2 bad usage or an invalid payload
`;

/** Flags → the client's connection and the payload. Throws UsageError naming the problem. */
export function parseSubmitArgs(args: string[], env: NodeJS.ProcessEnv): { redis: string; prefix: string | undefined; input: PayloadInput; wait: boolean } {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        redis: { type: 'string' }, prefix: { type: 'string' }, type: { type: 'string' }, data: { type: 'string' }, priority: { type: 'string' },
        'client-id': { type: 'string' }, 'idempotency-key': { type: 'string' }, wait: { type: 'boolean' },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const redis = values.redis ?? (env['TRIAGE_REDIS_URL'] || undefined);
  if (redis === undefined) throw new UsageError('--redis is required (the cluster\'s Redis)');
  if (!/^rediss?:\/\//.test(redis)) throw new UsageError(`--redis must be a redis:// or rediss:// URL, got ${JSON.stringify(redis)}`);
  const prefix = values.prefix ?? (env['TRIAGE_REDIS_PREFIX'] || undefined);
  if (values.type === undefined) throw new UsageError('--type is required');
  let data: unknown = null;
  if (values.data !== undefined) {
    try {
      data = JSON.parse(values.data);
    } catch (error) {
      throw new UsageError(`--data must be JSON: ${(error as Error).message}`);
    }
  }
  const priority = values.priority === undefined ? undefined : /^\d+$/.test(values.priority) ? Number(values.priority) : values.priority;
  const input: PayloadInput = {
    type: values.type,
    data,
    ...(priority === undefined ? {} : { priority: priority as PayloadInput['priority'] }),
    ...(values['client-id'] === undefined ? {} : { clientId: values['client-id'] }),
    ...(values['idempotency-key'] === undefined ? {} : { idempotencyKey: values['idempotency-key'] }),
  };
  return { redis, prefix, input, wait: values.wait === true };
}

export const submitCommand: Command = {
  name: 'submit',
  summary: 'submit a payload to a cluster without becoming a node (and wait for its result with --wait)',
  usage,
  async run(args, io: CliIo) {
    const { redis, prefix, input, wait } = parseSubmitArgs(args, io.env);
    let client;
    try {
      client = await createClient({ redis: { url: redis, ...(prefix === undefined ? {} : { prefix }) } });
    } catch (error) {
      io.stderr.write(`triage submit: ${describe(error)}\n`);
      return EXIT.failed;
    }
    try {
      const id = await client.submit(input);
      io.stdout.write(`${id}\n`);
      if (wait) io.stdout.write(`${JSON.stringify(await client.waitFor(id)) ?? 'null'}\n`);
      return EXIT.ok;
    } catch (error) {
      io.stderr.write(`triage submit: ${describe(error)}\n`);
      return error instanceof TriageError && error.code === 'VALIDATION_FAILED' ? EXIT.usage : EXIT.failed;
    } finally {
      await client.close();
    }
  },
};

function describe(error: unknown): string {
  return error instanceof TriageError ? `${error.message} [${error.code}]` : error instanceof Error ? error.message : String(error);
}
