/**
 * A schedule as the store keeps it: versioned JSON of its spec and whether it is paused. Decoding
 * validates the spec again (data from the store is decoded, not cast); unknown versions are refused.
 */
import { validateSchedule } from '../../src/schedules/validate.ts';
import type { ScheduleRecord } from './state.ts';

export const SCHEDULE_VERSION = 1;

export function encodeSchedule(record: ScheduleRecord): string {
  return JSON.stringify({ version: SCHEDULE_VERSION, spec: record.spec, paused: record.paused });
}

export function decodeSchedule(body: string, now: number): ScheduleRecord {
  const parsed = JSON.parse(body) as { version?: unknown; spec?: unknown; paused?: unknown };
  if (parsed.version !== SCHEDULE_VERSION) throw new Error(`unknown schedule version ${String(parsed.version)}`);
  if (typeof parsed.paused !== 'boolean') throw new Error('schedule without a paused flag');
  // The handler may be registered on another node only: that is checked when a firing is submitted.
  const spec = validateSchedule(parsed.spec, { hasHandler: () => true, maxDataBytes: Infinity, now });
  return { spec, paused: parsed.paused };
}
