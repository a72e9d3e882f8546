/**
 * FHIR dates as ranges of milliseconds since 1970-01-01T00:00Z (FHIR R4 search.html#date): a value
 * stands for the whole interval of its precision (`2020-03` is all of March 2020), so searches
 * compare intervals. Pure calendar arithmetic (proleptic Gregorian); values without a time zone
 * are read as UTC.
 */

/** A half-open interval `[start, end)` in milliseconds; ±Infinity for an open end of a Period. */
export interface DateRange {
  readonly start: number;
  readonly end: number;
}

const dateTimePattern =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

const msPerMinute = 60_000;
const msPerDay = 86_400_000;

/** Days from 1970-01-01 to the given civil date (H. Hinnant, "chrono-compatible algorithms"). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const monthIndex = (month + 9) % 12;
  const dayOfYear = Math.floor((153 * monthIndex + 2) / 5) + day - 1;
  const dayOfEra =
    yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/**
 * The interval a FHIR date, dateTime or instant stands for, or undefined when `text` is not one.
 * Precision: year, month, day, minute, second or millisecond.
 */
export function parseDateRange(text: string): DateRange | undefined {
  const match = dateTimePattern.exec(text);
  if (match === null) return undefined;
  const [, yearText, monthText, dayText, hourText, minuteText, secondText, fractionText, zone] =
    match;
  const year = Number(yearText);
  const month = monthText === undefined ? 1 : Number(monthText);
  const day = dayText === undefined ? 1 : Number(dayText);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (monthText === undefined) {
    return {
      start: daysFromCivil(year, 1, 1) * msPerDay,
      end: daysFromCivil(year + 1, 1, 1) * msPerDay,
    };
  }
  if (dayText === undefined) {
    const next = month === 12 ? [year + 1, 1] : [year, month + 1];
    return {
      start: daysFromCivil(year, month, 1) * msPerDay,
      end: daysFromCivil(next[0]!, next[1]!, 1) * msPerDay,
    };
  }
  const dayStart = daysFromCivil(year, month, day) * msPerDay;
  if (hourText === undefined) return { start: dayStart, end: dayStart + msPerDay };
  const hour = Number(hourText);
  const minute = Number(minuteText);
  const second = secondText === undefined ? 0 : Number(secondText);
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  let offsetMinutes = 0;
  if (zone !== undefined && zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    offsetMinutes = sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
  }
  const fractionMs =
    fractionText === undefined ? 0 : Math.floor(Number(`0.${fractionText}`) * 1000);
  const start =
    dayStart + (hour * 60 + minute - offsetMinutes) * msPerMinute + second * 1000 + fractionMs;
  let width = msPerMinute;
  if (secondText !== undefined) width = fractionText === undefined ? 1000 : 1;
  return { start, end: start + width };
}

/**
 * The interval of a Period (FHIR R4 datatypes.html#Period): from the start of `start` to the end of
 * `end`; a missing boundary is open (±Infinity). Undefined when a boundary is not a dateTime.
 */
export function periodRange(period: { start?: string; end?: string }): DateRange | undefined {
  const start = period.start === undefined ? undefined : parseDateRange(period.start);
  const end = period.end === undefined ? undefined : parseDateRange(period.end);
  if (period.start !== undefined && start === undefined) return undefined;
  if (period.end !== undefined && end === undefined) return undefined;
  return { start: start?.start ?? -Infinity, end: end?.end ?? Infinity };
}
