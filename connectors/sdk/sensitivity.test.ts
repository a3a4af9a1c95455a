import { describe, expect, it } from 'vitest';
import { nameWords, suggestSensitivity } from './sensitivity.ts';
import type { FieldType, Sensitivity } from './types.ts';

const cases: Array<[string, FieldType, Sensitivity]> = [
  ['password', 'string', 'restricted'],
  ['password_hash', 'string', 'restricted'],
  ['userPasswordHash', 'binary', 'restricted'],
  ['api_key', 'string', 'restricted'],
  ['APIKey', 'string', 'restricted'],
  ['client-secret', 'string', 'restricted'],
  ['refreshToken', 'string', 'restricted'],
  ['private_key', 'string', 'restricted'],
  ['ssn', 'string', 'restricted'],
  ['national_id', 'string', 'restricted'],
  ['passportNumber', 'string', 'restricted'],
  ['tax-id', 'string', 'restricted'],
  ['iban', 'string', 'restricted'],
  ['bank_account_number', 'string', 'restricted'],
  ['credit_card_number', 'string', 'restricted'],
  ['salary', 'number', 'confidential'],
  ['annualCompensation', 'number', 'confidential'],
  ['date_of_birth', 'date', 'confidential'],
  ['birthDate', 'date', 'confidential'],
  ['dob', 'date', 'confidential'],
  ['email', 'string', 'confidential'],
  ['user_email', 'string', 'confidential'],
  ['workEmailAddress', 'string', 'confidential'],
  ['phone_number', 'string', 'confidential'],
  ['mobile', 'string', 'confidential'],
  ['home-address', 'string', 'confidential'],
  ['last_login_ip', 'string', 'confidential'],
  ['remoteIP', 'string', 'confidential'],
  ['first_name', 'string', 'internal'],
  ['displayName', 'string', 'internal'],
  ['job_title', 'string', 'internal'],
  ['department', 'string', 'internal'],
  ['id', 'integer', 'internal'],
  ['address_id', 'integer', 'internal'],
  ['is_active', 'boolean', 'internal'],
  ['created_by', 'integer', 'internal'],
  ['created_at', 'datetime', 'public'],
  ['updatedAt', 'datetime', 'public'],
];

describe('suggestSensitivity', () => {
  it.each(cases)('rates %s (%s) as %s', (name, type, expected) => {
    expect(suggestSensitivity(name, type)).toBe(expected);
  });

  it('does not mistake words that merely contain a keyword', () => {
    expect(suggestSensitivity('hashtag', 'string')).toBe('internal');
    expect(suggestSensitivity('shipping_method', 'string')).toBe('internal');
    expect(suggestSensitivity('zipper_color', 'string')).toBe('internal');
  });
});

describe('nameWords', () => {
  it('splits snake, camel, kebab and acronyms alike', () => {
    expect(nameWords('userAPIKey_v2')).toEqual(['user', 'api', 'key', 'v2']);
    expect(nameWords('User-Email address')).toEqual(['user', 'email', 'address']);
  });
});
