export { RuntimeMetrics, compileMetricsOptions, WAIT_BUCKETS, RUN_BUCKETS, LOAD_LEVEL_VALUE, type MetricsOptions, type MetricsHost } from './runtime-metrics.ts';
export { COUNTER_KINDS, type CounterKind, type InFlightRun } from './recorder.ts';
