/**
 * How the sidebar keeps its data fresh: one @lumino/polling `Poll` per source.
 * A poll backs off (doubling up to `MAX_POLL_MS`) while the server fails, comes
 * back to its interval once it answers, and stands by while the page is hidden.
 */
import { Poll } from '@lumino/polling';

/** The longest wait between two reads, once backing off from a failing server (ms). */
export const MAX_POLL_MS = 5 * 60_000;

/** A poll of `read` every `interval` ms; started by the caller. */
export function createPoll(
  name: string,
  read: () => Promise<void>,
  interval: number
): Poll {
  return new Poll({
    name,
    auto: false,
    factory: read,
    frequency: { interval, backoff: true, max: MAX_POLL_MS },
    standby: 'when-hidden'
  });
}

/** Read again every `interval` ms from the next tick on (a read that fails still backs off). */
export function setPollInterval(poll: Poll, interval: number): void {
  if (poll.frequency.interval !== interval) {
    poll.frequency = { ...poll.frequency, interval };
  }
}

/** Read now; resolves once the read has answered (or failed). */
export async function pollNow(poll: Poll): Promise<void> {
  await poll.refresh();
  await poll.tick;
}
