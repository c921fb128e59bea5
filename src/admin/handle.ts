/**
 * `runtime.admin`: the runtime's admin endpoint. It holds the plugged-in parts (coordinator,
 * workflows, readiness checks) and at most one listening server, closed when the runtime stops.
 */
import type { Server } from 'node:http';
import type { Logger } from '../execution/handlers.ts';
import type { Runtime } from '../runtime.ts';
import { AdminError } from './errors.ts';
import { runtimeSources } from './runtime-sources.ts';
import { createAdminServer, listenAdmin, refuseUnknownAdminOptions, type AdminListener, type AdminServerOptions, type ListenOptions } from './server.ts';
import type { PayloadInspector } from './payload-views.ts';
import { SeriesRing } from './series.ts';
import type { AdminPlugins, AdminSources } from './sources.ts';

export class AdminHandle {
  readonly sources: AdminSources;
  /** One point a second for the page's charts, sampled while a server exists. */
  readonly series: SeriesRing;
  private plugins: AdminPlugins = {};
  private listener: AdminListener | undefined;

  constructor(private readonly runtime: Runtime, private readonly logger: Logger, inspector: PayloadInspector) {
    this.series = new SeriesRing({
      clock: runtime.options.clock,
      stats: () => runtime.stats(),
      level: () => this.sources.load().level,
      takeWaits: () => runtime.metrics.waitWindow.take(),
    });
    this.sources = runtimeSources(runtime, () => this.plugins, { series: this.series, inspector });
  }

  /**
   * Plugs in the parts of the engine the admin endpoint reports on and acts through. Later calls
   * add to or replace earlier ones, part by part.
   */
  provide(plugins: AdminPlugins): this {
    this.plugins = { ...this.plugins, ...plugins };
    return this;
  }

  /** The server without listening, for embedding or in-process tests. Turns metrics on. */
  createServer(options: AdminServerOptions = {}): Server {
    refuseUnknownAdminOptions(options, 'server');
    void this.runtime.metrics;
    this.series.start();
    return createAdminServer(this.sources, { logger: this.logger, ...options });
  }

  /** Serves the admin endpoint (default 127.0.0.1:7070). Turns metrics on. */
  async listen(options: ListenOptions = {}): Promise<AdminListener> {
    if (this.listener) throw new AdminError('ALREADY_LISTENING', `the admin endpoint already listens at ${this.listener.url}`);
    refuseUnknownAdminOptions(options, 'listen');
    void this.runtime.metrics; // counting starts now, so the first scrape sees what follows
    const listener = await listenAdmin(this.sources, { logger: this.logger, ...options });
    this.listener = listener;
    this.series.start();
    // A cluster node's page is linked from every node's cluster view.
    this.runtime.cluster?.announceAdminUrl(listener.url);
    return listener;
  }

  /** Where the admin endpoint listens, if it does. */
  get url(): string | undefined {
    return this.listener?.url;
  }

  async close(): Promise<void> {
    this.series.stop();
    const listener = this.listener;
    this.listener = undefined;
    await listener?.close();
  }
}
