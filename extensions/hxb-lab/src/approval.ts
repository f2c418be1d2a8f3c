/**
 * A change a run proposed, as a reviewer reads it in the runs list: whether it
 * still waits for a decision, who proposed it, when it expires, and the one
 * line to show when the server refuses a decision. Pure functions, no DOM.
 */
import { formatDuration } from './runstate';

/** The `approval` of a run in `GET runs` (null when the run proposed nothing). */
export interface IApproval {
  /** `awaiting approval`, `applied`, `rejected`, `conflict`, `refused` or `expired`. */
  state: string;
  summary: string;
  /** `<resource> <namespace>/<name> on <cluster>`. */
  target: string;
  /** The unified diff of the object, before and after (cluster text: shown escaped). */
  diff: string;
  proposed_by: string;
  proposed_at: string;
  expires_at: string;
  decided_by: string | null;
  decided_at: string | null;
  /** The API server's answer or the reason given, for a decided change. */
  note: string | null;
}

export const AWAITING = 'awaiting approval';

/** The longest error line the sidebar shows; the rest is in the server log. */
export const MAX_ERROR_CHARS = 300;

/** Whether a reviewer can still approve or reject it (the server has the last word). */
export function isAwaiting(approval: IApproval | null | undefined): boolean {
  return approval?.state === AWAITING;
}

/** `expires in 59 min 58 s`, or `expired` once `now` is past the expiry. */
export function expiryText(
  approval: IApproval,
  now: number = Date.now()
): string {
  const expires = Date.parse(approval.expires_at);
  if (Number.isNaN(expires)) {
    return '';
  }
  const left = expires - now;
  return left > 0 ? `expires in ${formatDuration(left)}` : 'expired';
}

/** The state line: who proposed it and the time left, or who decided and how. */
export function approvalLine(
  approval: IApproval,
  now: number = Date.now()
): string {
  if (isAwaiting(approval)) {
    const parts = [AWAITING, `proposed by ${approval.proposed_by}`];
    const expiry = expiryText(approval, now);
    if (expiry) {
      parts.push(expiry);
    }
    return parts.join(' · ');
  }
  if (approval.state === 'expired') {
    return `expired unapproved · proposed by ${approval.proposed_by}`;
  }
  const by = approval.decided_by ? ` by ${approval.decided_by}` : '';
  return `${approval.state}${by}`;
}

/**
 * One line of an error the server answered a decision with: its first line,
 * never a traceback, at most `MAX_ERROR_CHARS` characters.
 */
export function oneLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error ?? '');
  const first =
    text
      .split(/\r?\n/)
      .map(line => line.trim())
      .find(line => line && !line.startsWith('Traceback')) ?? '';
  const line = first || 'the server refused the decision; see its log';
  return line.length > MAX_ERROR_CHARS
    ? `${line.slice(0, MAX_ERROR_CHARS - 1)}…`
    : line;
}

/** Why a rejection cannot be sent yet, or null: it must say why. */
export function reasonProblem(reason: string): string | null {
  return reason.trim() ? null : 'Say why the change is refused';
}
