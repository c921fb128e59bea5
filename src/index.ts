export { createRuntime, Runtime, type CreateRuntimeOptions, type StopOptions, type ClientEvents, type RuntimeStatus } from './runtime.ts';
export type { RuntimeOptions, OverflowPolicy, HandlerDefaults } from './options.ts';
export type { Handler, HandlerContext, HandlerOptions, Logger } from './execution/handlers.ts';
export { silentLogger, stderrLogger } from './execution/handlers.ts';
export { SimulatedClock, systemClock, type Clock, type TimerHandle } from './clock.ts';
export { EventHub, PAYLOAD_EVENTS, type PayloadEvent, type PayloadEventType, type Listener } from './events.ts';
export { TIERS, NAMED_PRIORITY, type Tier, type PayloadInput, type PayloadView, type PayloadStatus, type BackoffOptions } from './payload.ts';
export * from './errors.ts';
