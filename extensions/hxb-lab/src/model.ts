/**
 * What the sidebar and the status bar show, fetched from the server extension
 * and kept fresh: profiles, the platform summary, the runbook catalog, runs
 * (polled fast while one is active) and schedules. Views listen to `changed`.
 * Runs and the summary are read by @lumino/polling polls (see `polling`).
 */
import type { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import { oneLine } from './approval';
import { api, Executor, IProfiles, IRunbook, ISchedule, ISummary } from './api';
import { createPoll, pollNow, setPollInterval } from './polling';
import {
  ACTIVE_POLL_MS,
  IRun,
  newlyFinished,
  pollDelay,
  upsertRun
} from './runstate';

/** How often the platform summary is read again (ms). */
export const SUMMARY_REFRESH_MS = 60_000;

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class HxbModel {
  profiles: IProfiles | null = null;
  profilesError: string | null = null;
  summary: ISummary | null = null;
  summaryError: string | null = null;
  runbooks: IRunbook[] = [];
  runbooksError: string | null = null;
  /** Where the active profile can run a runbook (no Kubernetes Job on a snapshot). */
  executors: Executor[] = ['local'];
  runs: IRun[] = [];
  runsWarning: string | null = null;
  runsError: string | null = null;
  schedules: ISchedule[] = [];
  schedulesError: string | null = null;
  /** Why the profile has no schedules at all (a snapshot has no CronJobs), if so. */
  schedulesUnavailable: string | null = null;
  schedulesNamespace = '';
  /** Runs whose change this page is approving or rejecting right now. */
  deciding: ReadonlySet<string> = new Set();
  /** Per run, the one line the server answered the last refused decision with. */
  decisionErrors: ReadonlyMap<string, string> = new Map();
  /** The run started last from this page, shown in view until another one starts. */
  startedRun: string | null = null;
  loading = false;

  /** Something shown changed. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** A run this page saw queued or running has finished. */
  get runFinished(): ISignal<this, IRun> {
    return this._runFinished;
  }

  /** A run was started from this page (the server has accepted it). */
  get runStarted(): ISignal<this, IRun> {
    return this._runStarted;
  }

  /** The active profile's name, once known. */
  get activeProfile(): string | null {
    return this.profiles?.active ?? null;
  }

  /** Read everything once, then keep runs and the summary fresh. */
  start(): void {
    void this.refreshAll();
  }

  async refreshAll(): Promise<void> {
    this.loading = true;
    this._changed.emit();
    await Promise.all([
      this.refreshProfiles(),
      this.refreshSummary(),
      this.refreshRunbooks(),
      this.refreshRuns(),
      this.refreshSchedules()
    ]);
    this.loading = false;
    this._changed.emit();
  }

  async refreshProfiles(): Promise<void> {
    try {
      this.profiles = await api.profiles();
      this.profilesError = null;
    } catch (error) {
      this.profilesError = message(error);
    }
    this._changed.emit();
  }

  /** Read the summary now; the poll reads it again every `SUMMARY_REFRESH_MS`. */
  refreshSummary(): Promise<void> {
    return pollNow(this._summaryPoll);
  }

  private async _readSummary(): Promise<void> {
    try {
      this.summary = await api.summary();
      this.summaryError = null;
    } catch (error) {
      this.summaryError = message(error);
      throw error; // the poll backs off
    } finally {
      this._changed.emit();
    }
  }

  async refreshRunbooks(): Promise<void> {
    try {
      const answer = await api.runbooks();
      this.runbooks = answer.runbooks;
      this.executors = answer.executors?.length ? answer.executors : ['local'];
      this.runbooksError = null;
    } catch (error) {
      this.runbooksError = message(error);
    }
    this._changed.emit();
  }

  async refreshSchedules(): Promise<void> {
    try {
      const answer = await api.schedules();
      this.schedules = answer.schedules;
      this.schedulesNamespace = answer.namespace;
      this.schedulesUnavailable = answer.unavailable ?? null;
      this.schedulesError = null;
    } catch (error) {
      this.schedules = [];
      this.schedulesUnavailable = null;
      this.schedulesError = message(error);
    }
    this._changed.emit();
  }

  /** Read the runs now; the poll reads them again after `pollDelay` of what came back. */
  refreshRuns(): Promise<void> {
    return pollNow(this._runsPoll);
  }

  private async _readRuns(): Promise<void> {
    const generation = this._runsGeneration;
    try {
      const answer = await api.runs();
      if (generation !== this._runsGeneration) {
        return; // asked before a profile switch or a start: older than what is shown
      }
      for (const run of newlyFinished(this.runs, answer.runs)) {
        this._runFinished.emit(run);
      }
      this.runs = answer.runs;
      this.runsWarning = answer.warning;
      this.runsError = null;
    } catch (error) {
      this.runsError = message(error);
      throw error; // the poll backs off
    } finally {
      setPollInterval(this._runsPoll, pollDelay(this.runs));
      this._changed.emit();
    }
  }

  /** Show a run the server just started, bring it into view, and poll for it. */
  addRun(run: IRun): void {
    this._runsGeneration += 1;
    this.runs = upsertRun(this.runs, run);
    this.startedRun = run.id;
    this._changed.emit();
    this._runStarted.emit(run);
    setPollInterval(this._runsPoll, ACTIVE_POLL_MS);
    void this._runsPoll.schedule({
      interval: ACTIVE_POLL_MS,
      phase: 'refreshed'
    });
  }

  /**
   * Approve (or, with a reason, reject) the change run `id` proposed. A refusal
   * (the same person, a conflict, an expired proposal) is kept as one line for
   * the run; either way the runs are read again, since the server recorded it.
   * Returns whether the server accepted the decision.
   */
  async decide(
    id: string,
    decision: 'approve' | 'reject',
    reason = ''
  ): Promise<boolean> {
    if (this.deciding.has(id)) {
      return false;
    }
    this.deciding = new Set([...this.deciding, id]);
    this._setDecisionError(id, null);
    let accepted = false;
    try {
      await (decision === 'approve' ? api.approve(id) : api.reject(id, reason));
      accepted = true;
    } catch (error) {
      this._setDecisionError(id, oneLine(error));
    } finally {
      const rest = new Set(this.deciding);
      rest.delete(id);
      this.deciding = rest;
      this._changed.emit();
    }
    await this.refreshRuns();
    return accepted;
  }

  private _setDecisionError(id: string, line: string | null): void {
    const errors = new Map(this.decisionErrors);
    if (line === null) {
      errors.delete(id);
    } else {
      errors.set(id, line);
    }
    this.decisionErrors = errors;
  }

  async switchProfile(name: string): Promise<void> {
    this._runsGeneration += 1;
    await api.switchProfile(name);
    this._runsGeneration += 1;
    this.runs = [];
    this.startedRun = null;
    this.decisionErrors = new Map();
    this.summary = null;
    await this.refreshAll();
  }

  dispose(): void {
    this._runsPoll.dispose();
    this._summaryPoll.dispose();
    Signal.clearData(this);
  }

  private _changed = new Signal<this, void>(this);
  private _runFinished = new Signal<this, IRun>(this);
  private _runStarted = new Signal<this, IRun>(this);
  private _runsGeneration = 0;
  private _runsPoll: Poll = createPoll(
    'hxb-lab:runs',
    () => this._readRuns(),
    pollDelay([])
  );
  private _summaryPoll: Poll = createPoll(
    'hxb-lab:summary',
    () => this._readSummary(),
    SUMMARY_REFRESH_MS
  );
}
