export { createClient, TriageClient, CLIENT_EVENTS, type CreateClientOptions, type ClientEventType, type ClientListeners } from './client/client.ts';
export { createRuntime, Runtime, type CreateRuntimeOptions, type StopOptions, type ClientEvents, type RuntimeStatus } from './runtime.ts';
export type { RuntimeOptions, OverflowPolicy, HandlerDefaults } from './options.ts';
export type { Handler, HandlerContext, HandlerOptions, Logger } from './execution/handlers.ts';
export { silentLogger, stderrLogger } from './execution/handlers.ts';
export { SimulatedClock, systemClock, type Clock, type TimerHandle } from './clock.ts';
export { EventHub, PAYLOAD_EVENTS, type PayloadEvent, type PayloadEventType, type Listener } from './events.ts';
export { TIERS, NAMED_PRIORITY, type Tier, type PayloadInput, type PayloadView, type PayloadStatus, type BackoffOptions } from './payload.ts';
export {
  DEPENDENCY_FAILURE_POLICIES, type DependencyFailurePolicy, type DependencyOutcome, type DependencyOutcomes,
} from './payload.ts';
export * from './dsl/index.ts';
export type { Workflows, StartOptions as WorkflowStartOptions, WorkflowListener } from '../actors/workflow/manager.ts';
export type { WorkflowView, StepView, WorkflowStatus, StepStatus } from '../actors/workflow/state.ts';
export { WORKFLOW_EVENTS, type WorkflowEvent, type WorkflowEventType } from '../actors/workflow/messages.ts';
export * from './errors.ts';
export { ScriptedLoadSampler, systemLoadSampler, type LoadSampler, type ProcessLoad } from './load/sampler.ts';
export { LOAD_LEVELS, type LoadLevel, type LoadSignals, type SignalName, type LevelThreshold } from './load/levels.ts';
export type {
  CoordinatorOptions, MakeupOptions, ElevateOptions, TransferOptions, PoolOptions, ThrottleOptions, BoostRule, BoostSubject,
  ComplexityOptions, TierMode,
} from './load/options.ts';
export type { Decision, DecisionAction, StuckReport, ScheduleFiring, SystemEventMap, SystemEventType } from './load/system-events.ts';
export type { Schedules, ScheduleView } from './runtime/schedules.ts';
export type { ScheduleInput } from './schedules/validate.ts';
export type { DeadLetterOptions, FailedPage, FailedQuery, RetryFilter } from './runtime/dead-letters.ts';
export type { DeadLetter } from './dead-letters/store.ts';
export type { PauseTarget, PauseView } from './runtime/pauses.ts';
export type { FairnessOptions, FairnessView } from './fairness.ts';
export type { Limit, KeyedLimits, LimitsOptions } from './limits/rules.ts';
export type { LimitScopeView, LimitsView } from './runtime/limits-view.ts';
export type { CoordinatorApi } from '../actors/coordinator/actor.ts';
export type { LedgerEntry } from '../actors/coordinator/ledger.ts';
export type { ComplexitySuggestion } from '../actors/complexity/actor.ts';
export type { SlotStats, SlotState } from './execution/slots.ts';
export {
  AdminHandle, AdminError, createAdminServer, runtimeSources, DEFAULT_ADMIN_PORT,
  type AdminErrorCode, type AdminServerOptions, type ListenOptions, type AdminListener, type AdminSources,
} from './admin/index.ts';
export { RuntimeMetrics, type MetricsOptions } from './metrics/index.ts';
export type { PersistenceEngine, JournalEntry, Snapshot } from './persistence/engine.ts';
export { MemoryEngine } from './persistence/memory.ts';
export { RedisEngine, type RedisEngineOptions } from './persistence/redis.ts';
export type { DurabilityStats } from './persistence/durability.ts';
