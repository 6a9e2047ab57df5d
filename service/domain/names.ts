import { ServiceError } from './errors';

// Tenant and index names end up in file-system paths' neighbourhood and in
// metrics labels: a short, boring alphabet with no path characters.
const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

export function requireName(value: unknown, what: string): string {
  if (typeof value !== 'string' || !NAME.test(value)) {
    throw new ServiceError(
      'ERR_INVALID_NAME',
      `Expected ${what} to be 1-64 characters of letters, digits, "_" or "-" (starting with a letter or digit) but received ${JSON.stringify(value)}`,
    );
  }
  return value;
}
