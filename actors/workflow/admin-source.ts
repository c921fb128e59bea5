/**
 * The workflow engine's part of the admin endpoint (`runtime.admin.provide({ workflows })`):
 * instances most recently started first, with step counts, and one instance's steps.
 */
import type { WorkflowInstanceDetail, WorkflowSource, WorkflowsView } from '../../src/admin/sources.ts';
import type { Workflows } from './manager.ts';
import type { WorkflowView } from './state.ts';

function detail(view: WorkflowView): WorkflowInstanceDetail {
  return {
    id: view.id,
    workflow: view.workflow,
    status: view.status,
    startedAt: view.startedAt,
    finishedAt: view.finishedAt,
    steps: view.steps.map((s) => ({ name: s.name, status: s.status, payloads: s.payloads, startedAt: s.startedAt, finishedAt: s.finishedAt })),
  };
}

export function workflowAdminSource(workflows: Workflows): WorkflowSource {
  return {
    list(limit: number): WorkflowsView {
      const all = workflows.list().sort((a, b) => b.startedAt - a.startedAt);
      return {
        total: all.length,
        instances: all.slice(0, limit).map((view) => ({
          ...detail(view),
          steps: {
            total: view.steps.length,
            completed: view.steps.filter((s) => s.status === 'completed' || s.status === 'skipped').length,
            running: view.steps.filter((s) => s.status === 'running' || s.status === 'compensating').length,
            failed: view.steps.filter((s) => s.status === 'failed' || s.status === 'compensation-failed').length,
          },
        })),
      };
    },
    get(id: string): WorkflowInstanceDetail | undefined {
      const view = workflows.get(id);
      return view && detail(view);
    },
  };
}
