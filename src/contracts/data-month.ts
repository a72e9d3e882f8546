/**
 * The data month of a record version (decision 0029): the month its clinical data is about, as a
 * count of months from January 1970 (UTC, proleptic Gregorian calendar), and how a consent
 * provision's `dataPeriod` (FHIR R4 Consent.provision.dataPeriod) covers it. Pure arithmetic,
 * no `Date`: the pure core reads no clock and every node must compute the same months.
 */
import { ContractError } from './errors.ts';
import { contractLimits } from './limits.ts';

/** Milliseconds in a day. */
const dayMs = 86_400_000;

/** First year a data month can name (month 0 is January 1970). */
const dataMonthYearMin = 1970;

/**
 * Days from 1970-01-01 to the first day of `month`: `days_from_civil` of H. Hinnant's
 * "chrono-Compatible Low-Level Date Algorithms", for day 1 of the month.
 */
function daysToMonthStart(month: number): number {
  const monthOfYear = (month % 12) + 1;
  const year = dataMonthYearMin + Math.floor(month / 12) - (monthOfYear <= 2 ? 1 : 0);
  const era = Math.floor(year / 400);
  const yearOfEra = year - era * 400;
  const dayOfYear = Math.floor((153 * (monthOfYear + (monthOfYear > 2 ? -3 : 9)) + 2) / 5);
  const dayOfEra =
    yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

/**
 * The data month of `year` and `month` (1–12), for `record.anchor`'s `dataMonth`: what a custodian
 * derives from the resource's clinical time (FHIR `effective[x]`, `onset[x]`, `issued`,
 * `recorded`), dropping the day and time. Throws `invalid-value` outside January 1970 to December
 * 9999.
 */
export function dataMonthOf(year: number, month: number): number {
  const value = (year - dataMonthYearMin) * 12 + (month - 1);
  if (
    !Number.isSafeInteger(year) ||
    !Number.isSafeInteger(month) ||
    month < 1 ||
    month > 12 ||
    value < 0 ||
    value > contractLimits.dataMonthMax
  ) {
    throw new ContractError(
      'invalid-value',
      `data month: expected a year from 1970 to 9999 and a month from 1 to 12, found ${year}-${month}`,
    );
  }
  return value;
}

/** The first instant (Unix ms, UTC) of data month `month`. */
export function dataMonthStartMs(month: number): number {
  return daysToMonthStart(month) * dayMs;
}

/**
 * Whether a provision of `type` with data period `period` (`[start, end)`, Unix ms, `end` null
 * open) covers data of `dataMonth`. The month is coarser than the period, so the two types are
 * read cautiously: a permit covers the data only when the whole month lies in the period, a deny
 * as soon as any of it does, and data of unknown month (null) is covered by every deny and by no
 * permit. Narrowing what a permit covers can then only take access away, and a deny never misses
 * data that may fall in its period.
 */
export function isDataMonthCovered(
  type: 'permit' | 'deny',
  dataMonth: number | null,
  period: { readonly start: number; readonly end: number | null },
): boolean {
  if (dataMonth === null) return type === 'deny';
  const monthStart = dataMonthStartMs(dataMonth);
  const monthEnd = dataMonthStartMs(dataMonth + 1);
  const periodEnd = period.end ?? Number.POSITIVE_INFINITY;
  if (type === 'permit') return period.start <= monthStart && monthEnd <= periodEnd;
  return period.start < monthEnd && monthStart < periodEnd;
}
