import {
  ACTIVE_POLL_MS,
  formatDuration,
  IDLE_POLL_MS,
  IRun,
  isActive,
  isFinished,
  newlyFinished,
  pollDelay,
  runActions,
  runDuration,
  runSummary,
  statusLabel,
  triggerText,
  upsertRun
} from '../runstate';

function run(overrides: Partial<IRun>): IRun {
  return {
    id: 'r1',
    runbook: 'checks',
    status: 'succeeded',
    started: '2025-01-01T12:00:00+00:00',
    finished: '2025-01-01T12:00:12+00:00',
    duration_ms: 12_300,
    parameters: {},
    error: null,
    has_report: true,
    has_notebook: true,
    executor: 'local',
    ...overrides
  };
}

describe('statuses', () => {
  it('tells active from finished runs', () => {
    expect(['queued', 'running'].every(isActive)).toBe(true);
    expect(
      ['succeeded', 'failed', 'timed_out', 'cancelled'].every(isFinished)
    ).toBe(true);
    expect(isActive('submitted') || isFinished('submitted')).toBe(false);
    expect(statusLabel('timed_out')).toBe('timed out');
  });
});

describe('formatDuration', () => {
  it.each([
    [850, '850 ms'],
    [12_300, '12.3 s'],
    [245_000, '4 min 05 s'],
    [3_720_000, '1 h 02 min'],
    [null, ''],
    [-1, '']
  ])('%p ms reads %p', (ms, text) => {
    expect(formatDuration(ms as number | null)).toBe(text);
  });
});

describe('runDuration', () => {
  it('counts a running run from its start and keeps a finished run’s record', () => {
    const now = Date.parse('2025-01-01T12:00:05+00:00');
    expect(
      runDuration(run({ status: 'running', duration_ms: null }), now)
    ).toBe(5000);
    expect(runDuration(run({}), now)).toBe(12_300);
    expect(
      runDuration(
        run({ status: 'queued', started: null, duration_ms: null }),
        now
      )
    ).toBe(null);
    expect(runSummary(run({ status: 'running', duration_ms: null }), now)).toBe(
      'running · 5.0 s'
    );
  });
});

describe('runActions', () => {
  it('cancels only local active runs and opens outputs once they exist', () => {
    expect(runActions(run({ status: 'running', has_report: false }))).toEqual({
      canCancel: true,
      canOpenReport: false,
      canOpenNotebook: false
    });
    expect(runActions(run({ status: 'queued' })).canCancel).toBe(true);
    expect(
      runActions(run({ status: 'running', executor: 'kubernetes' })).canCancel
    ).toBe(false);
    expect(runActions(run({ status: 'failed' }))).toEqual({
      canCancel: false,
      canOpenReport: true,
      canOpenNotebook: true
    });
    expect(
      runActions(run({ status: 'failed', has_notebook: false })).canOpenNotebook
    ).toBe(false);
  });
});

describe('polling', () => {
  it('polls fast while something runs, slowly otherwise', () => {
    expect(pollDelay([run({}), run({ id: 'r2', status: 'running' })])).toBe(
      ACTIVE_POLL_MS
    );
    expect(pollDelay([run({ status: 'submitted' })])).toBe(ACTIVE_POLL_MS);
    expect(pollDelay([run({}), run({ id: 'r2', status: 'failed' })])).toBe(
      IDLE_POLL_MS
    );
    expect(pollDelay([])).toBe(IDLE_POLL_MS);
  });

  it('reports the runs that finished since the last poll', () => {
    const before = [
      run({ id: 'a', status: 'running' }),
      run({ id: 'b', status: 'queued' })
    ];
    const after = [
      run({ id: 'a', status: 'failed' }),
      run({ id: 'b', status: 'running' })
    ];
    expect(newlyFinished(before, after).map(r => r.id)).toEqual(['a']);
    expect(newlyFinished([], after)).toEqual([]);
  });

  it('shows a run the server just started before the next poll', () => {
    const runs = [run({ id: 'a' }), run({ id: 'b' })];
    const started = run({ id: 'b', status: 'queued' });
    expect(upsertRun(runs, started).map(r => [r.id, r.status])).toEqual([
      ['b', 'queued'],
      ['a', 'succeeded']
    ]);
  });
});

describe('triggerText', () => {
  it('names the alert, how many more the group held, and the rule', () => {
    expect(
      triggerText({
        rule: 'service-down',
        alert: 'ServiceDown',
        alert_count: 1
      })
    ).toBe('Alert ServiceDown (rule service-down)');
    expect(
      triggerText({ rule: 'gpu-oom', alert: 'GpuMemory', alert_count: 3 })
    ).toBe('Alert GpuMemory and 2 more (rule gpu-oom)');
  });

  it('still says an alert started the run when the names were lost', () => {
    expect(triggerText({ rule: null, alert: null, alert_count: 0 })).toBe(
      'An alert'
    );
  });
});
