/**
 * Cron expressions for the Schedule dialog: a human-readable preview and the
 * same five-field shape the server checks (minute hour day month weekday).
 */
import cronstrue from 'cronstrue';

const MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *'
};

/** The preview of a cron expression, or the reason it is not one. */
export interface ICronPreview {
  ok: boolean;
  text: string;
}

/** `0 6 * * 1-5` → "At 06:00, Monday through Friday" (times in the cluster's zone, UTC). */
export function describeCron(expression: string): ICronPreview {
  const text = expression.trim().replace(/\s+/g, ' ');
  if (!text) {
    return { ok: false, text: 'a cron expression is required, e.g. 0 6 * * *' };
  }
  const expanded = MACROS[text.toLowerCase()] ?? text;
  const fields = expanded.split(' ');
  if (fields.length !== 5) {
    return {
      ok: false,
      text: `${fields.length} fields; a cron expression has 5 (minute hour day-of-month month day-of-week)`
    };
  }
  try {
    const words = cronstrue.toString(expanded, {
      use24HourTimeFormat: true,
      throwExceptionOnParseError: true,
      verbose: false
    });
    return { ok: true, text: `${words} (UTC)` };
  } catch (error) {
    const reason = String(error).replace(/^Error: /, '');
    return { ok: false, text: reason };
  }
}
