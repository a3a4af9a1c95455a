/** Cron expressions with a time zone: validated, with a minimum interval between runs. */
import { CronExpressionParser } from 'cron-parser';
import { PipError } from '../errors.ts';

export function isValidTimezone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export function nextRuns(cron: string, timezone: string, from: Date, count: number): Date[] {
  const it = CronExpressionParser.parse(cron, { tz: timezone, currentDate: from });
  return Array.from({ length: count }, () => it.next().toDate());
}

/** throws a 400 naming the problem: bad expression, unknown zone, runs closer than the minimum */
export function validateSchedule(cron: string, timezone: string, minIntervalSeconds: number): Date {
  if (!isValidTimezone(timezone)) throw new PipError('PIP_INVALID_TIMEZONE', 400, `timezone ${timezone} is not an IANA time zone (e.g. UTC, Europe/Paris)`);
  if (cron.trim().split(/\s+/).length > 6) throw new PipError('PIP_INVALID_CRON', 400, 'cron must have 5 fields (minute hour day month weekday), or 6 with seconds first');
  let runs: Date[];
  try {
    runs = nextRuns(cron, timezone, new Date(), 6);
  } catch (err) {
    throw new PipError('PIP_INVALID_CRON', 400, `cron expression "${cron}" is invalid: ${(err as Error).message}`);
  }
  let shortest = Infinity;
  for (let i = 1; i < runs.length; i++) shortest = Math.min(shortest, (runs[i]!.getTime() - runs[i - 1]!.getTime()) / 1000);
  if (shortest < minIntervalSeconds) {
    throw new PipError('PIP_SCHEDULE_TOO_FREQUENT', 400, `"${cron}" runs every ${shortest} s; the minimum interval is ${minIntervalSeconds} s (PIP_SYNC_MIN_INTERVAL_SECONDS)`);
  }
  return runs[0]!;
}
