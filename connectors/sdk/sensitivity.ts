/**
 * Suggests a sensitivity level for a field from its name (and, as a fallback, its type).
 * The admin sees the suggestion in the wizard and can change it; we err on the cautious side.
 *
 * Levels, most sensitive rule first:
 *   restricted    credentials and secrets (password, secret, token, hash, api key, private key, otp/pin),
 *                 government and financial identifiers that enable fraud or identity theft
 *                 (ssn, national id, passport, tax id, iban, bank account, card number, cvv),
 *                 and special-category personal data (health, religion, ethnicity…)
 *   confidential  personal data that is not directly abusable: salary/compensation, date of birth,
 *                 and contact / location data (email, phone, mobile, address, ip)
 *   internal      reference ids, names, titles, departments and org structure, flags — and the
 *                 default for anything we do not recognise
 *   public        technical row metadata only (created/updated/deleted timestamps, row versions)
 *
 * Names are split into words across snake_case, camelCase, kebab-case, dots and spaces
 * (`userEmail`, `user_email`, `User-Email`, `APIKey`), and every run of consecutive words is
 * also tried glued together, so `date_of_birth`, `dateOfBirth`, `birthDate` and `dob` all match.
 */
import type { FieldType, Sensitivity } from './types.ts';

const CREDENTIALS = [
  'password', 'passwd', 'pwd', 'passphrase', 'secret', 'token', 'hash', 'salt', 'apikey', 'privatekey',
  'secretkey', 'accesskey', 'credential', 'credentials', 'otp', 'totp', 'mfasecret', 'pin', 'pincode',
  'sessionid', 'cookie', 'signingkey', 'encryptionkey',
];
const GOVERNMENT_AND_FINANCIAL_IDS = [
  'ssn', 'socialsecurity', 'socialsecuritynumber', 'nationalid', 'nationalidentifier', 'nationalnumber',
  'nin', 'passport', 'passportnumber', 'taxid', 'taxnumber', 'tin', 'vatid', 'driverslicense',
  'driverlicense', 'iban', 'bic', 'swift', 'bankaccount', 'bankaccountnumber', 'bankdetails', 'banknumber',
  'accountnumber', 'routingnumber', 'sortcode', 'cardnumber', 'creditcard', 'debitcard', 'ccnumber',
  'pan', 'cvv', 'cvc',
];
const SPECIAL_CATEGORY = [
  'health', 'medical', 'diagnosis', 'disability', 'religion', 'ethnicity', 'sexualorientation',
  'criminalrecord', 'biometric', 'fingerprint',
];
const PERSONAL = [
  'salary', 'compensation', 'wage', 'wages', 'bonus', 'income', 'payrate', 'dob', 'dateofbirth', 'birthdate',
  'birthday', 'birthdt', 'gender', 'maritalstatus',
];
const CONTACT_AND_LOCATION = [
  'email', 'emailaddress', 'mail', 'phone', 'phonenumber', 'mobile', 'cell', 'telephone', 'tel', 'fax',
  'address', 'addr', 'street', 'postcode', 'postalcode', 'zip', 'zipcode', 'ip', 'ipaddr', 'ipaddress',
  'ipv4', 'ipv6', 'macaddress', 'geolocation', 'latitude', 'longitude', 'homeaddress',
];
const ROW_METADATA = [
  'created', 'createdat', 'createdon', 'createddate', 'createdtime', 'updated', 'updatedat', 'updatedon',
  'modified', 'modifiedat', 'modifiedon', 'lastmodified', 'lastmodifiedat', 'lastupdated', 'deletedat',
  'insertedat', 'changedat', 'rowversion', 'etag', 'ctime', 'mtime',
];
const REFERENCE_SUFFIXES = new Set(['id', 'ids', 'uuid', 'guid', 'fk']);

const sets = {
  credentials: new Set(CREDENTIALS),
  ids: new Set(GOVERNMENT_AND_FINANCIAL_IDS),
  special: new Set(SPECIAL_CATEGORY),
  personal: new Set(PERSONAL),
  contact: new Set(CONTACT_AND_LOCATION),
  metadata: new Set(ROW_METADATA),
};

/** Splits a field name into lower-case words: `userAPIKey_v2` → ['user', 'api', 'key', 'v2']. */
export function nameWords(fieldName: string): string[] {
  return fieldName
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w.length > 0);
}

/** Every run of consecutive words glued together: [date, of, birth] → date, dateof, dateofbirth, of, … */
function wordRuns(words: string[]): string[] {
  const runs: string[] = [];
  for (let i = 0; i < words.length; i++) {
    let run = '';
    for (let j = i; j < words.length; j++) {
      run += words[j];
      runs.push(run);
    }
  }
  return runs;
}

function matches(runs: string[], set: ReadonlySet<string>): boolean {
  return runs.some((r) => set.has(r));
}

export function suggestSensitivity(fieldName: string, type: FieldType): Sensitivity {
  const words = nameWords(fieldName);
  const runs = wordRuns(words);
  if (matches(runs, sets.credentials) || matches(runs, sets.ids) || matches(runs, sets.special)) return 'restricted';
  if (matches(runs, sets.personal)) return 'confidential';
  // `address_id`, `email_fk`: a reference to another row, not the value itself
  const last = words[words.length - 1];
  const isReference = words.length > 1 && last !== undefined && REFERENCE_SUFFIXES.has(last) && type !== 'string';
  if (!isReference && matches(runs, sets.contact)) return 'confidential';
  // only when the whole name is row metadata: `created_at` is public, `created_by` is not
  const technical = type === 'datetime' || type === 'date' || type === 'integer' || type === 'binary';
  if (technical && sets.metadata.has(words.join(''))) return 'public';
  return 'internal';
}
