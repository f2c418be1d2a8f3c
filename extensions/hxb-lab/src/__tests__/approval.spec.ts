import {
  approvalLine,
  AWAITING,
  expiryText,
  IApproval,
  isAwaiting,
  MAX_ERROR_CHARS,
  oneLine,
  reasonProblem
} from '../approval';
import { HxbModel } from '../model';
import { HxbApiError, requestAPI } from '../request';
import type { IRun } from '../runstate';

// A fake of the server's REST answers (the network is not part of what is tested here).
jest.mock('../request', () => {
  const actual = jest.requireActual('../request');
  return { ...actual, requestAPI: jest.fn() };
});

const request = requestAPI as jest.MockedFunction<typeof requestAPI>;

const PROPOSED = Date.parse('2026-01-01T12:00:00Z');

function approval(overrides: Partial<IApproval> = {}): IApproval {
  return {
    state: AWAITING,
    summary: 'scale llm-chat: maxReplicas 6 -> 9',
    target: 'inferenceservices.serving.kserve.io search/llm-chat on prod',
    diff: '-    maxReplicas: 6\n+    maxReplicas: 9\n',
    proposed_by: 'alice',
    proposed_at: '2026-01-01T12:00:00+00:00',
    expires_at: '2026-01-01T13:00:00+00:00',
    decided_by: null,
    decided_at: null,
    note: null,
    ...overrides
  };
}

function run(id: string, state: string | null): IRun {
  return {
    id,
    runbook: 'proposes',
    status: 'succeeded',
    started: null,
    finished: null,
    duration_ms: 1200,
    parameters: {},
    error: null,
    has_report: true,
    has_notebook: true,
    approval: state === null ? null : approval({ state })
  };
}

/** The server refusing a decision as it does: a status and its JSON message. */
function refusal(status: number, message: string): HxbApiError {
  return new HxbApiError(
    new Response(null, { status }),
    { message, type: 'ApprovalRefused' },
    message
  );
}

describe('the approval state line', () => {
  it('says it waits, who proposed it and the time left', () => {
    const now = PROPOSED + 2 * 60_000;
    expect(approvalLine(approval(), now)).toBe(
      'awaiting approval · proposed by alice · expires in 58 min 00 s'
    );
    expect(isAwaiting(approval())).toBe(true);
  });

  it('says expired once the time is over, and who decided otherwise', () => {
    const late = Date.parse('2026-01-01T13:00:01Z');
    expect(expiryText(approval(), late)).toBe('expired');
    expect(approvalLine(approval({ state: 'expired' }), late)).toBe(
      'expired unapproved · proposed by alice'
    );
    const applied = approval({ state: 'applied', decided_by: 'bob' });
    expect(approvalLine(applied, late)).toBe('applied by bob');
    expect(isAwaiting(applied)).toBe(false);
    expect(isAwaiting(null)).toBe(false);
  });
});

describe('oneLine', () => {
  it('keeps the first line of a server message and drops a traceback', () => {
    expect(oneLine(new Error('changed since it was read\nmore detail'))).toBe(
      'changed since it was read'
    );
    expect(oneLine(new Error('Traceback (most recent call last):\n'))).toBe(
      'the server refused the decision; see its log'
    );
    const long = oneLine(new Error('x'.repeat(1000)));
    expect(long).toHaveLength(MAX_ERROR_CHARS);
    expect(long.endsWith('…')).toBe(true);
  });

  it('asks a rejection for its reason', () => {
    expect(reasonProblem('  ')).toBe('Say why the change is refused');
    expect(reasonProblem('wrong model')).toBeNull();
  });
});

describe('HxbModel.decide', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => {
    jest.useRealTimers();
    request.mockReset();
  });

  function serve(routes: Record<string, unknown>): string[] {
    const asked: string[] = [];
    request.mockImplementation(async (path?: string, init?: RequestInit) => {
      asked.push(`${init?.method ?? 'GET'} ${path} ${init?.body ?? ''}`.trim());
      const answer = routes[path ?? ''];
      if (answer instanceof Error) {
        throw answer;
      }
      return answer;
    });
    return asked;
  }

  it('approves through the route, then shows the run as the server recorded it', async () => {
    const asked = serve({
      'runs/r1/approve': { state: 'applied' },
      runs: { runs: [run('r1', 'applied')], warning: null }
    });
    const model = new HxbModel();
    const decided = model.decide('r1', 'approve');
    expect(model.deciding.has('r1')).toBe(true);
    await jest.advanceTimersByTimeAsync(0);
    expect(await decided).toBe(true);
    expect(asked).toEqual(['POST runs/r1/approve {}', 'GET runs']);
    expect(model.deciding.size).toBe(0);
    expect(model.decisionErrors.size).toBe(0);
    expect(model.runs[0].approval?.state).toBe('applied');
    model.dispose();
  });

  it('sends the reason of a rejection', async () => {
    const asked = serve({
      'runs/r1/reject': { state: 'rejected' },
      runs: { runs: [run('r1', 'rejected')], warning: null }
    });
    const model = new HxbModel();
    const decided = model.decide('r1', 'reject', 'wrong model');
    await jest.advanceTimersByTimeAsync(0);
    expect(await decided).toBe(true);
    expect(asked[0]).toBe('POST runs/r1/reject {"reason":"wrong model"}');
    model.dispose();
  });

  it.each([
    [403, "'alice' started run r1 and may not approve its own change"],
    [409, 'llm-chat changed since it was read: nothing was changed'],
    [409, 'the change of run r1 expired at 2026-01-01T13:00:00 unapproved']
  ])(
    'keeps a %p refusal as one line for that run only',
    async (status, text) => {
      serve({
        'runs/r1/approve': refusal(status, `${text}\n  File "x.py", line 1`),
        runs: {
          runs: [run('r1', AWAITING), run('r2', AWAITING)],
          warning: null
        }
      });
      const model = new HxbModel();
      const decided = model.decide('r1', 'approve');
      await jest.advanceTimersByTimeAsync(0);
      expect(await decided).toBe(false);
      expect(model.decisionErrors.get('r1')).toBe(text);
      expect(model.decisionErrors.has('r2')).toBe(false);
      expect(model.runs.map(r => r.id)).toEqual(['r1', 'r2']); // read again

      serve({
        'runs/r1/approve': { state: 'applied' },
        runs: { runs: [run('r1', 'applied')], warning: null }
      });
      const again = model.decide('r1', 'approve');
      await jest.advanceTimersByTimeAsync(0);
      expect(await again).toBe(true);
      expect(model.decisionErrors.has('r1')).toBe(false); // a new decision clears it
      model.dispose();
    }
  );

  it('sends one decision per run at a time', async () => {
    const asked = serve({
      'runs/r1/approve': { state: 'applied' },
      runs: { runs: [], warning: null }
    });
    const model = new HxbModel();
    const first = model.decide('r1', 'approve');
    expect(await model.decide('r1', 'approve')).toBe(false);
    await jest.advanceTimersByTimeAsync(0);
    await first;
    expect(asked.filter(a => a.endsWith('approve {}'))).toHaveLength(1);
    model.dispose();
  });
});
