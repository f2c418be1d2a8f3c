/**
 * The REST API of the server extension, typed: one function per route.
 */
import type { IRunbookSchema } from './form';
import { requestAPI } from './request';
import type { IRun } from './runstate';

/** A profile as the server lists it. */
export interface IProfile {
  name: string;
  description: string;
  source: string;
}

/** `GET profiles`. */
export interface IProfiles {
  active: string;
  profiles: IProfile[];
}

/** A part of the summary that could not be read says why, in one line. */
export interface IUnavailable {
  unavailable: string;
}

/** `GET platform/summary`. */
export interface ISummary {
  profile: string;
  generated: string;
  health: 'ok' | 'degraded' | 'unavailable';
  cluster:
    | {
        clusters: string[];
        nodes: { ready: number; total: number };
        /** Free on schedulable Ready nodes; `unusable`: free on cordoned or NotReady ones. */
        gpus: {
          product: string;
          free: number;
          unusable?: number;
          total: number;
        }[];
      }
    | IUnavailable;
  alerts:
    | { firing: number; by_severity: Record<string, number>; names: string[] }
    | IUnavailable;
  deployments:
    | {
        failing: number;
        total: number;
        items: {
          cluster: string;
          namespace: string;
          name: string;
          reason: string | null;
        }[];
      }
    | IUnavailable;
}

/** One runbook of `GET runbooks`. */
export interface IRunbook {
  name: string;
  title: string;
  description: string;
  tags: string[];
  schedule: string | null;
  parameters: string[];
  required: string[];
  problem: string | null;
  schema: IRunbookSchema | null;
}

/** One schedule of `GET schedules`. */
export interface ISchedule {
  name: string;
  runbook: string;
  cron: string;
  suspended: boolean;
  parameters: Record<string, unknown>;
  namespace: string;
  last_schedule: string | null;
  created: string | null;
}

/** Where a run executes. */
export type Executor = 'local' | 'kubernetes';

function json(method: string, body: unknown): RequestInit {
  return { method, body: JSON.stringify(body) };
}

/** Whether a summary part is the one-line reason it could not be read. */
export function isUnavailable(part: unknown): part is IUnavailable {
  return typeof part === 'object' && part !== null && 'unavailable' in part;
}

export const api = {
  profiles: () => requestAPI<IProfiles>('profiles'),
  switchProfile: (name: string) =>
    requestAPI<IProfile>('profiles/active', json('PUT', { name })),
  summary: () => requestAPI<ISummary>('platform/summary'),
  runbooks: () =>
    requestAPI<{
      profile: string;
      executors?: Executor[];
      runbooks: IRunbook[];
    }>('runbooks'),
  /** Start a run; `timeout` (seconds) is sent only when given. */
  startRun: (
    name: string,
    parameters: Record<string, unknown>,
    executor: Executor,
    timeout?: number
  ) =>
    requestAPI<{ run: IRun }>(
      `runbooks/${encodeURIComponent(name)}/runs`,
      json('POST', {
        parameters,
        executor,
        ...(timeout === undefined ? {} : { timeout })
      })
    ),
  runs: () => requestAPI<{ runs: IRun[]; warning: string | null }>('runs'),
  run: (id: string) => requestAPI<IRun>(`runs/${encodeURIComponent(id)}`),
  /** Apply the change the run proposed, as reviewed (refused for its own starter). */
  approve: (id: string) =>
    requestAPI<{ state: string }>(
      `runs/${encodeURIComponent(id)}/approve`,
      json('POST', {})
    ),
  /** Refuse the change the run proposed, saying why. */
  reject: (id: string, reason: string) =>
    requestAPI<{ state: string }>(
      `runs/${encodeURIComponent(id)}/reject`,
      json('POST', { reason })
    ),
  cancel: (id: string) =>
    requestAPI<IRun>(`runs/${encodeURIComponent(id)}/cancel`, json('POST', {})),
  notebook: (id: string) =>
    requestAPI<{ name: string; content: Record<string, unknown> }>(
      `runs/${encodeURIComponent(id)}/notebook`
    ),
  reportPath: (id: string) => `runs/${encodeURIComponent(id)}/report`,
  schedules: () =>
    requestAPI<{
      profile: string;
      namespace: string;
      schedules: ISchedule[];
      /** Why there can be no schedules (a snapshot has no CronJobs), or null. */
      unavailable?: string | null;
    }>('schedules'),
  schedule: (
    name: string,
    body: { cron: string; parameters: Record<string, unknown>; name?: string }
  ) =>
    requestAPI<ISchedule>(
      `runbooks/${encodeURIComponent(name)}/schedules`,
      json('POST', body)
    ),
  setSuspended: (name: string, suspended: boolean) =>
    requestAPI<ISchedule>(
      `schedules/${encodeURIComponent(name)}`,
      json('PATCH', { suspended })
    ),
  deleteSchedule: (name: string) =>
    requestAPI<{ deleted: string }>(`schedules/${encodeURIComponent(name)}`, {
      method: 'DELETE'
    })
};
