/**
 * The run-state logic of the sidebar: statuses, durations, what a user may do
 * with a run, and how often to ask the server again. Pure functions, no DOM.
 */
import type { IApproval } from './approval';

/** Every status a run can have, as the server reports it. */
export type RunStatus =
  | 'queued'
  | 'running'
  | 'submitted'
  | 'succeeded'
  | 'failed'
  | 'timed_out'
  | 'cancelled';

/** A run as `GET /hxb-lab/api/runs` returns it. */
export interface IRun {
  id: string;
  runbook: string;
  status: RunStatus;
  submitted?: string | null;
  started: string | null;
  finished: string | null;
  duration_ms: number | null;
  profile?: string | null;
  executor?: string | null;
  kubernetes_job?: string | null;
  parameters: Record<string, unknown>;
  error: string | null;
  failed_cell?: number | null;
  has_report: boolean;
  has_notebook: boolean;
  /** The change the run proposed, for a second person to decide (see `approval`). */
  approval?: IApproval | null;
  /** The alert that started the run (null: a person started it). */
  trigger?: ITrigger | null;
}

/** What the server says of the alert that started a run. */
export interface ITrigger {
  /** The trigger rule that matched. */
  rule: string | null;
  /** The first alert's name (`alertname`). */
  alert: string | null;
  /** How many alerts the group held. */
  alert_count: number;
}

const ACTIVE: ReadonlySet<string> = new Set(['queued', 'running']);
const FINISHED: ReadonlySet<string> = new Set([
  'succeeded',
  'failed',
  'timed_out',
  'cancelled'
]);

/** Poll this often while a run is queued or running (ms). */
export const ACTIVE_POLL_MS = 2000;
/** Poll this often otherwise: runs started elsewhere still show up (ms). */
export const IDLE_POLL_MS = 15000;

/** Whether the run is still waiting or executing here. */
export function isActive(status: string): boolean {
  return ACTIVE.has(status);
}

/** Whether the run has ended (in any way). */
export function isFinished(status: string): boolean {
  return FINISHED.has(status);
}

/** The words a user reads for a status. */
export function statusLabel(status: string): string {
  switch (status) {
    case 'queued':
      return 'queued';
    case 'running':
      return 'running';
    case 'submitted':
      return 'submitted to Kubernetes';
    case 'succeeded':
      return 'succeeded';
    case 'failed':
      return 'failed';
    case 'timed_out':
      return 'timed out';
    case 'cancelled':
      return 'cancelled';
    default:
      return status;
  }
}

/** A duration the way people say it: `850 ms`, `12.3 s`, `4 min 05 s`, `1 h 02 min`. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) {
    return '';
  }
  if (ms < 1000) {
    return `${Math.round(ms)} ms`;
  }
  const seconds = ms / 1000;
  if (seconds < 60) {
    return `${seconds.toFixed(1)} s`;
  }
  const whole = Math.floor(seconds);
  const minutes = Math.floor(whole / 60);
  if (minutes < 60) {
    return `${minutes} min ${String(whole % 60).padStart(2, '0')} s`;
  }
  const hours = Math.floor(minutes / 60);
  return `${hours} h ${String(minutes % 60).padStart(2, '0')} min`;
}

/** The run's duration: recorded once finished, counted from its start while running. */
export function runDuration(
  run: IRun,
  now: number = Date.now()
): number | null {
  if (run.duration_ms !== null && run.duration_ms !== undefined) {
    return run.duration_ms;
  }
  if (run.status === 'running' && run.started) {
    const started = Date.parse(run.started);
    return Number.isNaN(started) ? null : Math.max(0, now - started);
  }
  return null;
}

/** What the buttons of a run row may do. */
export interface IRunActions {
  canCancel: boolean;
  canOpenReport: boolean;
  canOpenNotebook: boolean;
}

/** Cancel while queued or running here; report and notebook once they exist. */
export function runActions(run: IRun): IRunActions {
  const local = !run.executor || run.executor === 'local';
  return {
    canCancel: local && isActive(run.status),
    canOpenReport: !isActive(run.status) && run.has_report,
    canOpenNotebook: !isActive(run.status) && run.has_notebook
  };
}

/** How long to wait before asking for the runs again. */
export function pollDelay(runs: readonly IRun[]): number {
  return runs.some(r => isActive(r.status) || r.status === 'submitted')
    ? ACTIVE_POLL_MS
    : IDLE_POLL_MS;
}

/** The runs that were queued or running before and have finished now. */
export function newlyFinished(
  before: readonly IRun[],
  after: readonly IRun[]
): IRun[] {
  const previous = new Map(before.map(r => [r.id, r.status]));
  return after.filter(r => {
    const was = previous.get(r.id);
    return was !== undefined && isActive(was) && isFinished(r.status);
  });
}

/**
 * Put a run the server just answered into the list (newest first), replacing
 * an older copy of the same run, so a started run shows before the next poll.
 */
export function upsertRun(runs: readonly IRun[], run: IRun): IRun[] {
  const rest = runs.filter(r => r.id !== run.id);
  return [run, ...rest];
}

/** One line for a run row: the status, and the error of a run that did not succeed. */
export function runSummary(run: IRun, now: number = Date.now()): string {
  const duration = formatDuration(runDuration(run, now));
  const parts = [statusLabel(run.status)];
  if (duration) {
    parts.push(duration);
  }
  return parts.join(' · ');
}

/** One line for a run an alert started: the alert, how many more, and the rule. */
export function triggerText(trigger: ITrigger): string {
  const more =
    trigger.alert_count > 1 ? ` and ${trigger.alert_count - 1} more` : '';
  const alert = trigger.alert ? `Alert ${trigger.alert}${more}` : 'An alert';
  return trigger.rule ? `${alert} (rule ${trigger.rule})` : alert;
}
