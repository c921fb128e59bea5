/**
 * Schedule metrics: each firing's lateness (its handler's start − due), from the `schedule.started`
 * events this node emits, so a sum over a cluster's nodes counts each tick once.
 */
import { Histogram, type Registry } from 'prom-client';
import type { EventHub } from '../events.ts';

/** 1 ms … 60 s: an in-process firing is a few ms late; a catch-up after a restart is late by the downtime. */
const LATENESS_BUCKETS = [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Returns the unsubscribe. */
export function defineScheduleMetrics(registry: Registry, events: EventHub): () => void {
  const lateness = new Histogram({ name: 'triage_schedule_lateness_seconds', help: 'How late the handler of each schedule tick started after the tick was due (its first attempt)', buckets: LATENESS_BUCKETS, registers: [registry] });
  return events.on('schedule.started', (start) => lateness.observe(Math.max(0, start.at - start.tick) / 1_000));
}
