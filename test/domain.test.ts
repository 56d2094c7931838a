import { describe, expect, it } from 'vitest';
import { normalizePhone } from '../src/domain.js';

describe('normalizePhone', () => {
  it.each([
    ['+1 (555) 010-2030', '15550102030'],
    ['+44 7700 900123', '447700900123'],
    ['0044 7700 900123', '447700900123'],
    ['15550102030', '15550102030'],
    ['+49.30.1234567', '49301234567'],
  ])('%s → %s', (input, digits) => {
    expect(normalizePhone(input)).toBe(digits);
  });

  it.each(['07700 900123', '1234567', '1234567890123456', '+1 555 CALL NOW', '', '00'])('rejects %j', (input) => {
    expect(normalizePhone(input)).toBeNull();
  });
});
