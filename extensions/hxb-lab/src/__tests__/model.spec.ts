import { HxbModel } from '../model';
import { requestAPI } from '../request';
import type { IRun } from '../runstate';

// A fake of the server's REST answers (the network is not part of what is tested here).
jest.mock('../request', () => ({ requestAPI: jest.fn() }));

const request = requestAPI as jest.MockedFunction<typeof requestAPI>;

function run(id: string, status: IRun['status']): IRun {
  return {
    id,
    runbook: 'gpu-capacity-report',
    status,
    started: null,
    finished: null,
    duration_ms: null,
    parameters: {},
    error: null,
    has_report: false,
    has_notebook: false
  };
}

function answers(routes: Record<string, unknown>): void {
  request.mockImplementation(async (path?: string) => {
    const answer = routes[path ?? ''];
    if (answer instanceof Error) {
      throw answer;
    }
    return answer;
  });
}

describe('HxbModel', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => {
    jest.useRealTimers();
    request.mockReset();
  });

  it('offers only the executors the server names, and says why there are no schedules', async () => {
    answers({
      runbooks: { profile: 'demo', executors: ['local'], runbooks: [] },
      schedules: {
        profile: 'demo',
        namespace: 'hxb-runbooks',
        schedules: [],
        unavailable: 'schedules need a live cluster, and profile demo reads …'
      }
    });
    const model = new HxbModel();
    await model.refreshRunbooks();
    await model.refreshSchedules();
    expect(model.executors).toEqual(['local']);
    expect(model.schedulesError).toBeNull();
    expect(model.schedulesUnavailable).toMatch(
      /^schedules need a live cluster/
    );
    model.dispose();
  });

  it('shows a started run first, says so, and asks for it again within 2 s', async () => {
    answers({ runs: { runs: [run('old', 'succeeded')], warning: null } });
    const model = new HxbModel();
    const asked = model.refreshRuns();
    await jest.advanceTimersByTimeAsync(0);
    await asked;
    const started: string[] = [];
    model.runStarted.connect((_, r) => started.push(r.id));

    model.addRun(run('new', 'queued'));

    expect(model.runs.map(r => r.id)).toEqual(['new', 'old']);
    expect(model.startedRun).toBe('new');
    expect(started).toEqual(['new']);
    const calls = request.mock.calls.length;
    answers({
      runs: {
        runs: [run('new', 'running'), run('old', 'succeeded')],
        warning: null
      }
    });
    await jest.advanceTimersByTimeAsync(2000);
    expect(request.mock.calls.length).toBe(calls + 1);
    expect(model.runs[0].status).toBe('running');
    model.dispose();
  });

  it('keeps the error of a failing read and asks less and less often', async () => {
    answers({ runs: new Error('the server is not answering') });
    const model = new HxbModel();
    const asked = model.refreshRuns();
    await jest.advanceTimersByTimeAsync(0);
    await asked;
    expect(model.runsError).toBe('the server is not answering');
    const times: number[] = [];
    request.mockImplementation(async () => {
      times.push(Date.now());
      throw new Error('the server is not answering');
    });
    await jest.advanceTimersByTimeAsync(10 * 60_000);
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    expect(gaps.length).toBeGreaterThan(2);
    expect(gaps[gaps.length - 1]).toBeGreaterThan(gaps[0]);
    model.dispose();
  });
});
