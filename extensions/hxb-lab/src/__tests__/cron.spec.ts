import { describeCron } from '../cron';

describe('describeCron', () => {
  it('reads a valid expression in words, in UTC', () => {
    expect(describeCron('0 6 * * *')).toEqual({
      ok: true,
      text: 'At 06:00 (UTC)'
    });
    expect(describeCron('  */15   *  * * 1-5 ').text).toBe(
      'Every 15 minutes, Monday through Friday (UTC)'
    );
    expect(describeCron('@daily')).toEqual({
      ok: true,
      text: 'At 00:00 (UTC)'
    });
  });

  it('says why an expression is not one', () => {
    expect(describeCron('')).toEqual({
      ok: false,
      text: 'a cron expression is required, e.g. 0 6 * * *'
    });
    expect(describeCron('0 6 * *').ok).toBe(false);
    expect(describeCron('0 6 * *').text).toMatch(/^4 fields/);
    const bad = describeCron('61 6 * * *');
    expect(bad.ok).toBe(false);
    expect(bad.text).toMatch(/minute/i);
  });
});
