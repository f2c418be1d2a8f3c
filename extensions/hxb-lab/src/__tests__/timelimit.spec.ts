import { api } from '../api';
import { parseTimeLimit } from '../form';
import { requestAPI } from '../request';

jest.mock('../request', () => ({
  requestAPI: jest.fn(async () => ({ run: { id: 'r-1' } }))
}));

const request = requestAPI as jest.MockedFunction<typeof requestAPI>;

describe('parseTimeLimit', () => {
  it('is no limit when left empty, so the runbook’s or profile’s applies', () => {
    expect(parseTimeLimit('')).toEqual({});
    expect(parseTimeLimit('   ')).toEqual({});
  });

  it('takes seconds above zero, fractions too', () => {
    expect(parseTimeLimit('600')).toEqual({ seconds: 600 });
    expect(parseTimeLimit(' 2.5 ')).toEqual({ seconds: 2.5 });
  });

  it.each(['0', '-5', '-0.1'])('refuses %s: no time at all', text => {
    expect(parseTimeLimit(text)).toEqual({
      error: 'Time limit: give seconds above 0, or leave it empty'
    });
  });

  it.each(['abc', '10m', '1e999', 'Infinity', 'NaN', '1,5'])(
    'refuses %s: not a finite number of seconds',
    text => {
      expect(parseTimeLimit(text)).toEqual({
        error: 'Time limit: give a number of seconds, or leave it empty'
      });
    }
  );
});

describe('api.startRun', () => {
  beforeEach(() => request.mockClear());

  function sent(): { path: string; body: Record<string, unknown> } {
    expect(request).toHaveBeenCalledTimes(1);
    const [path, init] = request.mock.calls[0];
    expect(init?.method).toBe('POST');
    return { path: String(path), body: JSON.parse(String(init?.body)) };
  }

  it('sends the time limit as timeout, in seconds', async () => {
    await api.startRun('gpu checks', { depth: 'full' }, 'local', 90);
    expect(sent()).toEqual({
      path: 'runbooks/gpu%20checks/runs',
      body: { parameters: { depth: 'full' }, executor: 'local', timeout: 90 }
    });
  });

  it('sends no timeout when none is set (the server’s default applies)', async () => {
    await api.startRun('checks', {}, 'kubernetes', parseTimeLimit('').seconds);
    const { body } = sent();
    expect(body).toEqual({ parameters: {}, executor: 'kubernetes' });
    expect('timeout' in body).toBe(false);
  });
});
