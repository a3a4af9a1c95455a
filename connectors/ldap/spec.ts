/**
 * LDAP / Active Directory connector config: the schema is the validator, the wizard form and the
 * type. Filters, object classes and id attributes default per vendor (see vendors.ts) when left
 * empty; the vendor itself is detected from the root DSE unless set.
 */
import { Type, type Static } from 'typebox';
import type { ConnectorSpec, ConnectorTemplate } from '../sdk/types.ts';

const DnList = (title: string, description: string) =>
  Type.Array(Type.String({ minLength: 1, maxLength: 1024 }), { title, description, minItems: 1, maxItems: 20 });

const NameList = (title: string, description: string) =>
  Type.Array(Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z][A-Za-z0-9-]*$' }), { title, description, default: [], maxItems: 200 });

export const LdapConfig = Type.Object({
  urls: Type.Array(Type.String({ pattern: '^ldaps?://[^/?#\\s]+/?$', maxLength: 300 }), {
    title: 'Server URLs',
    description: 'ldap://host:389 or ldaps://host:636; several URLs are tried in order when one cannot be reached',
    minItems: 1,
    maxItems: 10,
  }),
  vendor: Type.Union([Type.Literal('auto'), Type.Literal('openldap'), Type.Literal('active_directory')], {
    title: 'Directory type',
    description: 'auto: detected from the root DSE (Active Directory announces itself; anything else is treated as OpenLDAP)',
    default: 'auto',
  }),
  bindDn: Type.Optional(Type.String({ maxLength: 1024, title: 'Bind DN', description: 'A read-only service account; empty: anonymous bind' })),
  bindPassword: Type.String({ default: '', maxLength: 1024, title: 'Bind password', 'x-secret': true }),
  startTls: Type.Boolean({ default: false, title: 'StartTLS', description: 'Upgrade an ldap:// connection to TLS before binding' }),
  tlsCaCertificate: Type.Optional(
    Type.String({ minLength: 1, title: 'CA certificate (PEM)', description: 'Trust this CA (for ldaps:// and StartTLS) instead of the system store' }),
  ),
  tlsRejectUnauthorized: Type.Boolean({ default: true, title: 'Verify the server certificate', description: 'Turn off only for testing' }),
  tlsServerName: Type.Optional(
    Type.String({ minLength: 1, maxLength: 253, title: 'TLS server name', description: 'Expected name in the server certificate, when it differs from the URL host' }),
  ),
  userBaseDns: DnList('User base DNs', 'Subtrees searched for users, e.g. ou=people,dc=example,dc=org'),
  userFilter: Type.Optional(
    Type.String({ minLength: 3, maxLength: 4096, title: 'User filter', description: 'RFC 4515 filter; default (objectClass=inetOrgPerson), or (&(objectCategory=person)(objectClass=user)) on AD' }),
  ),
  userObjectClasses: NameList('User object classes', 'Classes whose attributes discovery lists; default inetOrgPerson, or user on AD'),
  userAttributes: NameList('Extra user attributes', 'Read into the user\'s attributes (besides the normalized fields), e.g. employeeNumber, memberOf'),
  groupBaseDns: DnList('Group base DNs', 'Subtrees searched for groups, e.g. ou=groups,dc=example,dc=org'),
  groupFilter: Type.Optional(
    Type.String({ minLength: 3, maxLength: 4096, title: 'Group filter', description: 'Default (|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)), or (objectClass=group) on AD' }),
  ),
  groupObjectClasses: NameList('Group object classes', 'Classes whose attributes discovery lists; default groupOfNames, or group on AD'),
  groupAttributes: NameList('Extra group attributes', 'Read into the group\'s attributes'),
  pageSize: Type.Integer({ minimum: 1, maximum: 5000, default: 500, title: 'Page size', description: 'Entries per page (RFC 2696 paged results); AD caps pages at 1,000' }),
  dnCacheSize: Type.Integer({
    minimum: 100,
    maximum: 1_000_000,
    default: 20_000,
    title: 'DN cache size',
    description: 'Member and manager DNs remembered per sync (least recently used dropped first); misses are looked up in batches',
  }),
  connectTimeoutMs: Type.Integer({ minimum: 500, maximum: 120_000, default: 10_000, title: 'Connect timeout (ms)' }),
  operationTimeoutMs: Type.Integer({ minimum: 1000, maximum: 3_600_000, default: 120_000, title: 'Operation timeout (ms)', description: 'Per bind, search page or lookup' }),
});
export type LdapConfig = Static<typeof LdapConfig>;

export const ldapSpec: ConnectorSpec = {
  config: LdapConfig,
  authKinds: ['bind'],
  steps: [
    { id: 'connection', title: 'Connection', fields: ['urls', 'vendor', 'connectTimeoutMs', 'operationTimeoutMs'] },
    { id: 'authentication', title: 'Authentication', description: 'Simple bind with a read-only service account', fields: ['bindDn', 'bindPassword'] },
    { id: 'tls', title: 'Encryption', fields: ['startTls', 'tlsCaCertificate', 'tlsRejectUnauthorized', 'tlsServerName'] },
    {
      id: 'scope',
      title: 'Users and groups',
      fields: ['userBaseDns', 'userFilter', 'userObjectClasses', 'userAttributes', 'groupBaseDns', 'groupFilter', 'groupObjectClasses', 'groupAttributes', 'pageSize', 'dnCacheSize'],
    },
  ],
  capabilities: { discovery: true, incremental: 'cursor', webhooks: false, targetedRead: true },
  documentationUrl: 'docs/connectors/ldap.md',
};

export const ldapTemplates: ConnectorTemplate[] = [
  {
    id: 'openldap',
    name: 'OpenLDAP over LDAPS',
    description: 'inetOrgPerson users and groupOfNames groups, a read-only bind account, LDAPS with the directory\'s CA.',
    config: {
      urls: ['ldaps://ldap.example.org:636'],
      vendor: 'openldap',
      bindDn: 'cn=pip-reader,ou=services,dc=example,dc=org',
      userBaseDns: ['ou=people,dc=example,dc=org'],
      groupBaseDns: ['ou=groups,dc=example,dc=org'],
      pageSize: 500,
    },
  },
  {
    id: 'active-directory',
    name: 'Active Directory over LDAPS',
    description: 'Person users and groups of a domain, a read-only service account, LDAPS on a domain controller.',
    config: {
      urls: ['ldaps://dc1.corp.example.com:636', 'ldaps://dc2.corp.example.com:636'],
      vendor: 'active_directory',
      bindDn: 'CN=pip-reader,OU=Service Accounts,DC=corp,DC=example,DC=com',
      userBaseDns: ['DC=corp,DC=example,DC=com'],
      groupBaseDns: ['DC=corp,DC=example,DC=com'],
      pageSize: 1000,
    },
  },
];
