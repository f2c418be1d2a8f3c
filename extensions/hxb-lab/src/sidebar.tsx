/**
 * The HXB sidebar: profile switcher, platform summary, runbook catalog with
 * search and tags, live runs and schedules. Everything from a cluster is
 * rendered as React text (escaped), never as HTML.
 */
import { ReactWidget } from '@jupyterlab/apputils';
import { UseSignal } from '@jupyterlab/ui-components';
import type { CommandRegistry } from '@lumino/commands';
import * as React from 'react';

import { approvalLine, IApproval, isAwaiting, reasonProblem } from './approval';
import { IRunbook, ISchedule, isUnavailable, ISummary } from './api';
import type { HxbModel } from './model';
import {
  IRun,
  isActive,
  runActions,
  runSummary,
  triggerText
} from './runstate';

/** Command ids the sidebar's buttons run. */
export const CommandIDs = {
  openSidebar: 'hxb-lab:open-sidebar',
  refresh: 'hxb-lab:refresh',
  newOpsNotebook: 'hxb-lab:new-ops-notebook',
  runRunbook: 'hxb-lab:run-runbook',
  scheduleRunbook: 'hxb-lab:schedule-runbook',
  openReport: 'hxb-lab:open-report',
  openNotebook: 'hxb-lab:open-run-notebook',
  cancelRun: 'hxb-lab:cancel-run',
  switchProfile: 'hxb-lab:switch-profile',
  suspendSchedule: 'hxb-lab:suspend-schedule',
  resumeSchedule: 'hxb-lab:resume-schedule',
  deleteSchedule: 'hxb-lab:delete-schedule'
} as const;

interface IProps {
  model: HxbModel;
  commands: CommandRegistry;
}

function Section(props: {
  title: string;
  className: string;
  children: React.ReactNode;
  extra?: React.ReactNode;
}): JSX.Element {
  return (
    <section className={`hxb-Section ${props.className}`}>
      <header className="hxb-Section-header">
        <h3>{props.title}</h3>
        {props.extra}
      </header>
      {props.children}
    </section>
  );
}

function Problem(props: { text: string }): JSX.Element {
  return <div className="hxb-Unavailable">unavailable: {props.text}</div>;
}

function ProfileSwitcher({ model, commands }: IProps): JSX.Element {
  const profiles = model.profiles;
  if (!profiles) {
    return model.profilesError ? (
      <Problem text={model.profilesError} />
    ) : (
      <div>…</div>
    );
  }
  const current = profiles.profiles.find(p => p.name === profiles.active);
  return (
    <div className="hxb-Profile">
      <select
        className="jp-mod-styled hxb-Profile-select"
        aria-label="Active profile"
        value={profiles.active}
        onChange={e =>
          void commands.execute(CommandIDs.switchProfile, {
            name: e.target.value
          })
        }
      >
        {profiles.profiles.map(p => (
          <option key={p.name} value={p.name}>
            {p.name}
          </option>
        ))}
      </select>
      {current?.description && (
        <div className="hxb-Profile-description">{current.description}</div>
      )}
    </div>
  );
}

/** The hover text of a GPU row: what the count means, and the free GPUs it leaves out. */
export function gpuTitle(g: {
  product: string;
  free: number;
  unusable?: number;
  total: number;
}): string {
  const unusable = g.unusable
    ? `; ${g.unusable} more free on cordoned or NotReady nodes`
    : '';
  return `${g.product}: ${g.free} of ${g.total} GPUs free on schedulable nodes${unusable}`;
}

function Summary({
  summary,
  error
}: {
  summary: ISummary | null;
  error: string | null;
}): JSX.Element {
  if (!summary) {
    return error ? (
      <Problem text={error} />
    ) : (
      <div className="hxb-Loading">reading the platform…</div>
    );
  }
  const { cluster, alerts, deployments } = summary;
  return (
    <div
      className={`hxb-Summary hxb-mod-${summary.health}`}
      data-health={summary.health}
    >
      <div className="hxb-Summary-row">
        <span className="hxb-Summary-label">Clusters</span>
        {isUnavailable(cluster) ? (
          <Problem text={cluster.unavailable} />
        ) : (
          <span className="hxb-Summary-clusters">
            {cluster.clusters.join(', ')}
          </span>
        )}
      </div>
      {!isUnavailable(cluster) && (
        <>
          <div className="hxb-Summary-row">
            <span className="hxb-Summary-label">Nodes ready</span>
            <span className="hxb-Summary-nodes">
              {cluster.nodes.ready}/{cluster.nodes.total}
            </span>
          </div>
          {cluster.gpus.map(g => (
            <div
              className="hxb-Summary-row hxb-Summary-gpu"
              key={g.product}
              title={gpuTitle(g)}
            >
              <span className="hxb-Summary-label">{g.product}</span>
              <span className="hxb-Summary-gpuFree">
                {g.free}/{g.total} free
              </span>
            </div>
          ))}
        </>
      )}
      <div className="hxb-Summary-row">
        <span className="hxb-Summary-label">Firing alerts</span>
        {isUnavailable(alerts) ? (
          <Problem text={alerts.unavailable} />
        ) : (
          <span className="hxb-Summary-alerts" title={alerts.names.join(', ')}>
            {alerts.firing}
          </span>
        )}
      </div>
      <div className="hxb-Summary-row">
        <span className="hxb-Summary-label">Failing deployments</span>
        {isUnavailable(deployments) ? (
          <Problem text={deployments.unavailable} />
        ) : (
          <span
            className="hxb-Summary-deployments"
            title={deployments.items
              .map(
                d =>
                  `${d.namespace}/${d.name}${d.reason ? `: ${d.reason}` : ''}`
              )
              .join('\n')}
          >
            {deployments.failing}/{deployments.total}
          </span>
        )}
      </div>
    </div>
  );
}

function Catalog({ model, commands }: IProps): JSX.Element {
  const [query, setQuery] = React.useState('');
  const [tag, setTag] = React.useState<string | null>(null);
  const tags = Array.from(new Set(model.runbooks.flatMap(r => r.tags))).sort();
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  const shown = model.runbooks.filter(
    r =>
      (!tag || r.tags.includes(tag)) &&
      words.every(w =>
        [r.name, r.title, r.description, ...r.tags]
          .join(' ')
          .toLowerCase()
          .includes(w)
      )
  );
  return (
    <div className="hxb-Catalog">
      <input
        className="jp-mod-styled hxb-Catalog-search"
        type="search"
        placeholder="Search runbooks"
        aria-label="Search runbooks"
        value={query}
        onChange={e => setQuery(e.target.value)}
      />
      {tags.length > 0 && (
        <div className="hxb-Tags">
          {tags.map(t => (
            <button
              key={t}
              className={`hxb-Tag ${tag === t ? 'hxb-mod-selected' : ''}`}
              onClick={() => setTag(tag === t ? null : t)}
            >
              {t}
            </button>
          ))}
        </div>
      )}
      {model.runbooksError && <Problem text={model.runbooksError} />}
      <ul className="hxb-Runbooks">
        {shown.map(r => (
          <RunbookItem key={r.name} runbook={r} commands={commands} />
        ))}
      </ul>
      {shown.length === 0 && !model.runbooksError && (
        <div className="hxb-Empty">No runbook matches.</div>
      )}
    </div>
  );
}

function RunbookItem({
  runbook,
  commands
}: {
  runbook: IRunbook;
  commands: CommandRegistry;
}): JSX.Element {
  return (
    <li className="hxb-Runbook" data-runbook={runbook.name}>
      <div className="hxb-Runbook-title">{runbook.title}</div>
      {runbook.description && (
        <div className="hxb-Runbook-description">{runbook.description}</div>
      )}
      {runbook.problem ? (
        <div className="hxb-Runbook-problem">{runbook.problem}</div>
      ) : (
        <div className="hxb-Runbook-actions">
          <button
            className="jp-mod-styled hxb-Runbook-run"
            aria-label={`Run ${runbook.name}…`}
            onClick={() =>
              void commands.execute(CommandIDs.runRunbook, {
                name: runbook.name
              })
            }
          >
            Run…
          </button>
          <button
            className="jp-mod-styled hxb-Runbook-schedule"
            aria-label={`Schedule ${runbook.name}…`}
            onClick={() =>
              void commands.execute(CommandIDs.scheduleRunbook, {
                name: runbook.name
              })
            }
          >
            Schedule…
          </button>
        </div>
      )}
    </li>
  );
}

/**
 * The time, once a second while a run is active, so its duration counts up. This
 * asks the server nothing (the runs are read by a Poll, see `model`), so a timer is
 * all it needs: nothing to back off from.
 */
function useClock(active: boolean): number {
  const [now, setNow] = React.useState(Date.now());
  React.useEffect(() => {
    if (!active) {
      return;
    }
    const timer = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(timer);
  }, [active]);
  return now;
}

function Runs({ model, commands }: IProps): JSX.Element {
  const now = useClock(
    model.runs.some(r => isActive(r.status) || isAwaiting(r.approval))
  );
  return (
    <div className="hxb-Runs">
      {model.runsError && <Problem text={model.runsError} />}
      {model.runsWarning && (
        <div className="hxb-Warning">{model.runsWarning}</div>
      )}
      <ul className="hxb-RunList">
        {model.runs.slice(0, 50).map(run => (
          <RunItem
            key={run.id}
            run={run}
            now={now}
            commands={commands}
            started={run.id === model.startedRun}
            model={model}
          />
        ))}
      </ul>
      {model.runs.length === 0 && !model.runsError && (
        <div className="hxb-Empty">No runs yet.</div>
      )}
    </div>
  );
}

/**
 * The change a run proposed: its state, who proposed it and when it expires, the
 * diff (cluster text, rendered as text), and while it waits, Approve and Reject…
 * (which asks for the reason). A refused decision shows as one line.
 */
function Approval({
  run,
  approval,
  now,
  model
}: {
  run: IRun;
  approval: IApproval;
  now: number;
  model: HxbModel;
}): JSX.Element {
  const [rejecting, setRejecting] = React.useState(false);
  const [reason, setReason] = React.useState('');
  const awaiting = isAwaiting(approval);
  const busy = model.deciding.has(run.id);
  const error = model.decisionErrors.get(run.id);
  const problem = reasonProblem(reason);
  const which = `${run.runbook} ${run.id}`;
  return (
    <div className="hxb-Approval" data-state={approval.state}>
      <div
        className={`hxb-Approval-state hxb-mod-${awaiting ? 'awaiting' : 'decided'}`}
      >
        {approvalLine(approval, now)}
      </div>
      <div className="hxb-Approval-summary" title={approval.target}>
        {approval.summary}
      </div>
      {approval.note && !awaiting && (
        <div className="hxb-Approval-note">{approval.note}</div>
      )}
      <details className="hxb-Approval-details" open={awaiting}>
        <summary>Diff of {approval.target}</summary>
        <pre className="hxb-Approval-diff">{approval.diff}</pre>
      </details>
      {error && <div className="hxb-Approval-error">{error}</div>}
      {awaiting && !rejecting && (
        <div className="hxb-Run-actions">
          <button
            className="jp-mod-styled hxb-Approval-approve"
            aria-label={`Approve the change of ${which}`}
            disabled={busy}
            onClick={() => void model.decide(run.id, 'approve')}
          >
            {busy ? 'Approving…' : 'Approve'}
          </button>
          <button
            className="jp-mod-styled jp-mod-warn hxb-Approval-reject"
            aria-label={`Reject the change of ${which}…`}
            disabled={busy}
            onClick={() => setRejecting(true)}
          >
            Reject…
          </button>
        </div>
      )}
      {awaiting && rejecting && (
        <form
          className="hxb-Approval-rejectForm"
          onSubmit={e => {
            e.preventDefault();
            if (!problem) {
              void model.decide(run.id, 'reject', reason.trim());
            }
          }}
        >
          <input
            className="jp-mod-styled hxb-Approval-reason"
            aria-label={`Why the change of ${which} is refused`}
            placeholder="Why is it refused?"
            value={reason}
            onChange={e => setReason(e.target.value)}
            autoFocus
          />
          <div className="hxb-Run-actions">
            <button
              type="submit"
              className="jp-mod-styled jp-mod-warn hxb-Approval-confirmReject"
              disabled={busy || problem !== null}
              title={problem ?? ''}
            >
              {busy ? 'Rejecting…' : 'Reject'}
            </button>
            <button
              type="button"
              className="jp-mod-styled hxb-Approval-cancelReject"
              onClick={() => setRejecting(false)}
            >
              Keep it
            </button>
          </div>
        </form>
      )}
    </div>
  );
}

function RunItem({
  run,
  now,
  commands,
  started,
  model
}: {
  run: IRun;
  now: number;
  commands: CommandRegistry;
  started: boolean;
  model: HxbModel;
}): JSX.Element {
  const actions = runActions(run);
  // A change is decided once the run that proposed it has ended (its report shows it).
  const approval = isActive(run.status) ? null : run.approval;
  const item = React.useRef<HTMLLIElement>(null);
  React.useEffect(() => {
    if (started) {
      item.current?.scrollIntoView({ block: 'nearest' });
    }
  }, [started]);
  const which = `${run.runbook} ${run.id}`;
  return (
    <li
      ref={item}
      className={`hxb-Run ${started ? 'hxb-mod-started' : ''}`}
      data-run-id={run.id}
      data-status={run.status}
      data-approval={approval?.state ?? undefined}
    >
      <div className="hxb-Run-head">
        <span className="hxb-Run-runbook">{run.runbook}</span>
        <span
          className={`hxb-Run-status hxb-mod-${run.status}`}
          data-status={run.status}
        >
          {runSummary(run, now)}
        </span>
      </div>
      <div className="hxb-Run-id" title={run.started ?? ''}>
        {run.id}
      </div>
      {run.trigger && (
        <div className="hxb-Run-trigger">{triggerText(run.trigger)}</div>
      )}
      {run.error && <div className="hxb-Run-error">{run.error}</div>}
      {run.approval && (
        <Approval run={run} approval={run.approval} now={now} model={model} />
      )}
      <div className="hxb-Run-actions">
        {actions.canOpenReport && (
          <button
            className="jp-mod-styled hxb-Run-report"
            aria-label={`Report of ${which}`}
            onClick={() =>
              void commands.execute(CommandIDs.openReport, {
                id: run.id,
                runbook: run.runbook
              })
            }
          >
            Report
          </button>
        )}
        {actions.canOpenNotebook && (
          <button
            className="jp-mod-styled hxb-Run-notebook"
            aria-label={`Notebook of ${which}`}
            onClick={() =>
              void commands.execute(CommandIDs.openNotebook, { id: run.id })
            }
          >
            Notebook
          </button>
        )}
        {actions.canCancel && (
          <button
            className="jp-mod-styled jp-mod-warn hxb-Run-cancel"
            aria-label={`Cancel ${which}`}
            onClick={() =>
              void commands.execute(CommandIDs.cancelRun, { id: run.id })
            }
          >
            Cancel
          </button>
        )}
      </div>
    </li>
  );
}

function Schedules({ model, commands }: IProps): JSX.Element {
  if (model.schedulesError) {
    return <Problem text={model.schedulesError} />;
  }
  if (model.schedulesUnavailable) {
    return <div className="hxb-Note">{model.schedulesUnavailable}</div>;
  }
  return (
    <div className="hxb-Schedules">
      <ul className="hxb-ScheduleList">
        {model.schedules.map(s => (
          <ScheduleItem key={s.name} schedule={s} commands={commands} />
        ))}
      </ul>
      {model.schedules.length === 0 && (
        <div className="hxb-Empty">
          No schedules in {model.schedulesNamespace || 'the namespace'}.
        </div>
      )}
    </div>
  );
}

function ScheduleItem({
  schedule,
  commands
}: {
  schedule: ISchedule;
  commands: CommandRegistry;
}): JSX.Element {
  const toggle = schedule.suspended
    ? CommandIDs.resumeSchedule
    : CommandIDs.suspendSchedule;
  return (
    <li className="hxb-Schedule" data-schedule={schedule.name}>
      <div className="hxb-Schedule-head">
        <span className="hxb-Schedule-name">{schedule.name}</span>
        <code className="hxb-Schedule-cron">{schedule.cron}</code>
        {schedule.suspended && (
          <span className="hxb-Schedule-suspended">suspended</span>
        )}
      </div>
      <div className="hxb-Schedule-runbook">{schedule.runbook}</div>
      <div className="hxb-Schedule-actions">
        <button
          className="jp-mod-styled"
          aria-label={`${schedule.suspended ? 'Resume' : 'Suspend'} ${schedule.name}`}
          onClick={() => void commands.execute(toggle, { name: schedule.name })}
        >
          {schedule.suspended ? 'Resume' : 'Suspend'}
        </button>
        <button
          className="jp-mod-styled jp-mod-warn"
          aria-label={`Delete ${schedule.name}`}
          onClick={() =>
            void commands.execute(CommandIDs.deleteSchedule, {
              name: schedule.name
            })
          }
        >
          Delete
        </button>
      </div>
    </li>
  );
}

function Sidebar(props: IProps): JSX.Element {
  const { model, commands } = props;
  return (
    <div className="hxb-Sidebar-content">
      <header className="hxb-Sidebar-header">
        <h2>HXB</h2>
        <button
          className="jp-mod-styled hxb-Refresh"
          title="Refresh"
          onClick={() => void commands.execute(CommandIDs.refresh)}
        >
          {model.loading ? 'Refreshing…' : 'Refresh'}
        </button>
      </header>
      <Section title="Profile" className="hxb-Section-profile">
        <ProfileSwitcher {...props} />
      </Section>
      <Section title="Platform" className="hxb-Section-platform">
        <Summary summary={model.summary} error={model.summaryError} />
      </Section>
      <Section title="Runbooks" className="hxb-Section-runbooks">
        <Catalog {...props} />
      </Section>
      <Section title="Runs" className="hxb-Section-runs">
        <Runs {...props} />
      </Section>
      <Section title="Schedules" className="hxb-Section-schedules">
        <Schedules {...props} />
      </Section>
    </div>
  );
}

/** The left-sidebar widget: re-renders whenever the model changes. */
export class HxbSidebar extends ReactWidget {
  constructor(private readonly _props: IProps) {
    super();
    this.id = 'hxb-lab-sidebar';
    this.addClass('hxb-Sidebar');
  }

  protected render(): JSX.Element {
    return (
      <UseSignal signal={this._props.model.changed}>
        {() => <Sidebar {...this._props} />}
      </UseSignal>
    );
  }
}
