export { AdminHandle } from './handle.ts';
export { AdminError, type AdminErrorCode } from './errors.ts';
export { createAdminServer, listenAdmin, isLoopback, DEFAULT_ADMIN_PORT, type AdminServerOptions, type ListenOptions, type AdminListener } from './server.ts';
export { runtimeSources } from './runtime-sources.ts';
export { ROUTES } from './routes.ts';
export * from './sources.ts';
