/**
 * What the sidebar and the status bar show, fetched from the server extension
 * and kept fresh: profiles, the platform summary, the runbook catalog, runs
 * (polled fast while one is active) and schedules. Views listen to `changed`.
 */
import { ISignal, Signal } from '@lumino/signaling';

import { api, IProfiles, IRunbook, ISchedule, ISummary } from './api';
import { IRun, newlyFinished, pollDelay, upsertRun } from './runstate';

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
  runs: IRun[] = [];
  runsWarning: string | null = null;
  runsError: string | null = null;
  schedules: ISchedule[] = [];
  schedulesError: string | null = null;
  schedulesNamespace = '';
  loading = false;

  /** Something shown changed. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** A run this page saw queued or running has finished. */
  get runFinished(): ISignal<this, IRun> {
    return this._runFinished;
  }

  /** The active profile's name, once known. */
  get activeProfile(): string | null {
    return this.profiles?.active ?? null;
  }

  /** Read everything once, then keep runs and the summary fresh. */
  start(): void {
    void this.refreshAll();
    this._summaryTimer = window.setInterval(
      () => void this.refreshSummary(),
      SUMMARY_REFRESH_MS
    );
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

  async refreshSummary(): Promise<void> {
    try {
      this.summary = await api.summary();
      this.summaryError = null;
    } catch (error) {
      this.summaryError = message(error);
    }
    this._changed.emit();
  }

  async refreshRunbooks(): Promise<void> {
    try {
      this.runbooks = (await api.runbooks()).runbooks;
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
      this.schedulesError = null;
    } catch (error) {
      this.schedules = [];
      this.schedulesError = message(error);
    }
    this._changed.emit();
  }

  /** Read the runs now, then again after `pollDelay` of what came back. */
  async refreshRuns(): Promise<void> {
    window.clearTimeout(this._runsTimer);
    const profile = this._profileGeneration;
    try {
      const answer = await api.runs();
      if (profile !== this._profileGeneration) {
        return; // asked before a profile switch: these are the old profile's runs
      }
      for (const run of newlyFinished(this.runs, answer.runs)) {
        this._runFinished.emit(run);
      }
      this.runs = answer.runs;
      this.runsWarning = answer.warning;
      this.runsError = null;
    } catch (error) {
      this.runsError = message(error);
    }
    this._changed.emit();
    if (!this._disposed) {
      this._runsTimer = window.setTimeout(
        () => void this.refreshRuns(),
        pollDelay(this.runs)
      );
    }
  }

  /** Show a run the server just started, and poll for it. */
  addRun(run: IRun): void {
    this.runs = upsertRun(this.runs, run);
    this._changed.emit();
    window.clearTimeout(this._runsTimer);
    this._runsTimer = window.setTimeout(
      () => void this.refreshRuns(),
      pollDelay(this.runs)
    );
  }

  async switchProfile(name: string): Promise<void> {
    this._profileGeneration += 1;
    await api.switchProfile(name);
    this._profileGeneration += 1;
    this.runs = [];
    this.summary = null;
    await this.refreshAll();
  }

  dispose(): void {
    this._disposed = true;
    window.clearTimeout(this._runsTimer);
    window.clearInterval(this._summaryTimer);
    Signal.clearData(this);
  }

  private _changed = new Signal<this, void>(this);
  private _runFinished = new Signal<this, IRun>(this);
  private _runsTimer = 0;
  private _profileGeneration = 0;
  private _summaryTimer = 0;
  private _disposed = false;
}
