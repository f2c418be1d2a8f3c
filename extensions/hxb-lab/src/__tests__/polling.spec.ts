import type { IPoll } from '@lumino/polling';

import { createPoll, MAX_POLL_MS, pollNow, setPollInterval } from '../polling';

describe('createPoll', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  it('backs off while the server fails and stands by when the page is hidden', () => {
    const poll = createPoll('test', async () => undefined, 2000);
    expect(poll.frequency).toEqual({
      interval: 2000,
      backoff: true,
      max: MAX_POLL_MS
    });
    expect(poll.standby).toBe('when-hidden');
    poll.dispose();
  });

  it('waits longer after each failure, and its interval again once it answers', async () => {
    // A poll that backs off draws each wait at random between its interval and
    // three times the last wait (jitter, so that many pages do not retry at once).
    // Drawing the top of that range makes the growth visible in every run.
    jest.spyOn(Math, 'random').mockReturnValue(0.999999);
    let failures = 3;
    const reads: number[] = [];
    const poll = createPoll(
      'test',
      async () => {
        reads.push(Date.now());
        if (failures > 0) {
          failures -= 1;
          throw new Error('server down');
        }
      },
      1000
    );
    const states: IPoll.State<void, unknown, 'standby'>[] = [];
    poll.ticked.connect((_, state) => states.push({ ...state }));
    await poll.start();
    for (let i = 0; i < 6; i++) {
      await jest.advanceTimersByTimeAsync(20_000);
    }
    const rejected = states.filter(s => s.phase === 'rejected');
    expect(rejected.length).toBe(3);
    // Each wait after a failure is longer than the one before (the poll backs off).
    expect(rejected[1].interval).toBeGreaterThan(rejected[0].interval);
    expect(rejected[2].interval).toBeGreaterThan(rejected[1].interval);
    expect(rejected[2].interval).toBeLessThanOrEqual(MAX_POLL_MS);
    const back = states.find(s => s.phase === 'reconnected');
    expect(back?.interval).toBe(1000);
    poll.dispose();
  });

  it('never waits less than its interval after a failure, whatever the jitter draws', async () => {
    jest.spyOn(Math, 'random').mockReturnValue(0);
    const poll = createPoll(
      'test',
      async () => {
        throw new Error('server down');
      },
      1000
    );
    const waits: number[] = [];
    poll.ticked.connect((_, state) => {
      if (state.phase === 'rejected') {
        waits.push(state.interval);
      }
    });
    await poll.start();
    for (let i = 0; i < 4; i++) {
      await jest.advanceTimersByTimeAsync(5_000);
    }
    expect(waits.length).toBeGreaterThan(2);
    waits.forEach(wait => expect(wait).toBeGreaterThanOrEqual(1000));
    poll.dispose();
  });

  it('reads at once when asked, and at a new interval once set', async () => {
    let reads = 0;
    const poll = createPoll(
      'test',
      async () => {
        reads += 1;
      },
      15_000
    );
    const asked = pollNow(poll);
    await jest.advanceTimersByTimeAsync(0);
    await asked;
    expect(reads).toBe(1);
    setPollInterval(poll, 2000);
    expect(poll.frequency.interval).toBe(2000);
    await jest.advanceTimersByTimeAsync(15_000); // the wait already scheduled
    expect(reads).toBe(2);
    await jest.advanceTimersByTimeAsync(2000); // then the new interval
    expect(reads).toBe(3);
    poll.dispose();
  });
});
