// ISO 8601 date-times as the filter language and datetime payload indexes take
// them (RFC 3339, as Qdrant): "2024-05-01", "2024-05-01T12:30:00Z",
// "2024-05-01 12:30:00.123+02:00". Without a zone the time is UTC. Parsed by
// hand, not by Date.parse, which reads a zoneless date-time as local time and
// accepts many other shapes depending on the engine.
const DATETIME = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?([Zz]|[+-]\d{2}:?\d{2})?)?$/;

const DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const isLeap = (y: number): boolean => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;

/** The instant (milliseconds since the epoch, fractions kept) of an ISO 8601 date-time, or undefined. */
export function datetimeOf(text: string): number | undefined {
  if (text.length > 40) return undefined;
  const m = DATETIME.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = [1, 2, 3, 4, 5, 6].map((i) => (m[i] === undefined ? 0 : Number(m[i])));
  if (month < 1 || month > 12 || day < 1 || day > DAYS[month - 1] || (month === 2 && day === 29 && !isLeap(year))) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const fraction = m[7] === undefined ? 0 : Number(`0.${m[7]}`) * 1000;
  const zone = m[8];
  let offsetMinutes = 0;
  if (zone !== undefined && zone !== 'Z' && zone !== 'z') {
    const digits = zone.replace(':', '');
    const hours = Number(digits.slice(1, 3));
    const minutes = Number(digits.slice(3, 5));
    if (hours > 23 || minutes > 59) return undefined;
    offsetMinutes = (zone[0] === '-' ? -1 : 1) * (hours * 60 + minutes);
  }
  // Date.UTC reads years 0-99 as 1900-1999: set the year separately.
  const date = new Date(Date.UTC(2000, month - 1, day, hour, minute, second));
  date.setUTCFullYear(year);
  return date.getTime() + fraction - offsetMinutes * 60_000;
}
