// Comparing a presented secret (the metrics token) with the configured one.
// Comparing the bytes themselves would need equal lengths, and refusing a
// different length early tells an attacker the token's length by timing. Both
// sides are hashed first: the digests always have the same length, and
// timingSafeEqual compares them in time independent of where they differ.
import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

export function sameSecret(presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), digest(expected));
}
