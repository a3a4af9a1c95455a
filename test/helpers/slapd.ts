/**
 * A private OpenLDAP server for tests: the Debian `slapd` on free loopback ports (plain LDAP with
 * StartTLS, and LDAPS), a throw-away directory under the OS temp dir, mdb backend, the core /
 * cosine / inetorgperson / nis schemas, the memberof overlay when the module is installed, a
 * self-signed test CA (plus an unrelated second CA, for "wrong CA" tests) made with openssl, and a
 * generated directory loaded offline with `slapadd -q` before the server starts (far faster than
 * ldapadd for thousands of entries).
 *
 * The directory (see `generateDirectory`): 2,000 inetOrgPerson users (some with a manager, half
 * with a displayName), 200 groupOfNames groups, one of them with 1,600 members, a three-level
 * chain of nested groups and a two-group cycle, a group naming a DN that does not exist and an
 * entry outside the user filter, and fixed past modifyTimestamps so incremental reads can tell
 * changes made by a test from the load.
 *
 * Accounts: the rootDN (admin), a read-only bind account `pip-reader` with ACLs and size limits
 * as docs/connectors/ldap.md tells admins to set up, and `pip-limited`, which may only see that
 * `ou=restricted` exists (reads there answer insufficientAccess).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

const SCHEMA_DIR = '/etc/ldap/schema';
const MODULE_DIR = '/usr/lib/ldap';
const SLAPD = '/usr/sbin/slapd';
const SLAPADD = '/usr/sbin/slapadd';

export const SUFFIX = 'dc=example,dc=org';
export const PEOPLE = `ou=people,${SUFFIX}`;
export const GROUPS = `ou=groups,${SUFFIX}`;
export const RESTRICTED = `ou=restricted,${SUFFIX}`;

export interface DirectoryShape {
  users: number;
  groups: number;
}

export const DEFAULT_SHAPE: DirectoryShape = { users: 2000, groups: 200 };

/** What the generated directory holds, by name (the tests compare reads against ldapsearch). */
export interface DirectoryFixture {
  shape: DirectoryShape;
  userDn(i: number): string;
  groupDn(i: number): string;
  /** the group with more than 1,500 members and how many */
  bigGroup: { index: number; members: number };
  /** level 1 → level 2 → level 3 */
  nestedChain: [number, number, number];
  /** A → B → A */
  cycle: [number, number];
  /** group whose members include a DN that does not exist and an entry outside the user filter */
  oddMembersGroup: number;
  missingDn: string;
  nonPersonDn: string;
  /** modifyTimestamp of every loaded entry is at or before this (generalized time) */
  loadedBefore: string;
}

export interface SlapdServer {
  /** ldap://127.0.0.1:<port> (StartTLS available) */
  url: string;
  /** ldaps://127.0.0.1:<port> */
  ldapsUrl: string;
  port: number;
  ldapsPort: number;
  dir: string;
  admin: { dn: string; password: string };
  reader: { dn: string; password: string };
  limited: { dn: string; password: string };
  /** may read everything, but gets at most 100 entries per search unless it pages (pages of up to 100) */
  paged: { dn: string; password: string };
  /** PEM of the CA that signed the server certificate */
  caPem: string;
  /** PEM of an unrelated CA */
  otherCaPem: string;
  memberOfOverlay: boolean;
  fixture: DirectoryFixture;
  timings: { certsMs: number; generateMs: number; slapaddMs: number; startMs: number; totalMs: number };
  /** ldapsearch (as the admin unless `as` says otherwise; paged unless `paged` is false) → parsed entries */
  search(base: string, filter: string, attributes?: string[], opts?: { scope?: 'base' | 'one' | 'sub'; as?: Account; paged?: boolean }): Promise<LdifEntry[]>;
  /** ldapmodify as the admin */
  modify(ldif: string): Promise<void>;
  stop(): Promise<void>;
}

export type LdifEntry = { dn: string } & Record<string, string[]>;

/** DN comparison in tests, independent of the connector's code: lower case, no spaces around separators (fixture DNs have no escapes). */
export function normalizeDnForTest(dn: string): string {
  return dn
    .toLowerCase()
    .split(',')
    .map((rdn) => rdn.split('=').map((s) => s.trim()).join('='))
    .join(',');
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** generalized time of `base + seconds` */
function generalizedTime(seconds: number): string {
  const d = new Date(Date.UTC(2024, 0, 1) + seconds * 1000);
  return d.toISOString().replace(/[-:T]/g, '').replace(/\.\d{3}Z$/, 'Z');
}

export function directoryFixture(shape: DirectoryShape = DEFAULT_SHAPE): DirectoryFixture {
  const userWidth = Math.max(4, String(shape.users).length);
  const groupWidth = Math.max(3, String(shape.groups).length);
  return {
    shape,
    userDn: (i) => `uid=user${pad(i, userWidth)},${PEOPLE}`,
    groupDn: (i) => `cn=group${pad(i, groupWidth)},${GROUPS}`,
    bigGroup: { index: 1, members: Math.min(1600, shape.users) },
    nestedChain: [shape.groups - 10, shape.groups - 9, shape.groups - 8],
    cycle: [shape.groups - 5, shape.groups - 4],
    oddMembersGroup: shape.groups - 7,
    missingDn: `uid=ghost,${PEOPLE}`,
    nonPersonDn: `cn=printer,${PEOPLE}`,
    loadedBefore: generalizedTime(shape.users * 60 + shape.groups * 60 + 3600),
  };
}

/** The members (DNs) of group `g` in the generated directory. */
export function groupMembers(f: DirectoryFixture, g: number): string[] {
  const { users, groups } = f.shape;
  const regular = groups - 12; // groups 2 .. groups-11 take everyone in two groups each
  if (g === f.bigGroup.index) return Array.from({ length: f.bigGroup.members }, (_, i) => f.userDn(i + 1));
  const [l1, l2, l3] = f.nestedChain;
  if (g === l1) return [f.groupDn(l2), ...[1, 2, 3, 4, 5].map(f.userDn)];
  if (g === l2) return [f.groupDn(l3), ...[6, 7, 8, 9, 10].map(f.userDn)];
  if (g === l3) return [11, 12, 13, 14, 15].map(f.userDn);
  const [a, b] = f.cycle;
  if (g === a) return [f.groupDn(b), f.userDn(20)];
  if (g === b) return [f.groupDn(a), f.userDn(21)];
  if (g === f.oddMembersGroup) return [f.userDn(30), f.missingDn, f.nonPersonDn];
  if (g >= 2 && g < 2 + regular) {
    const out: string[] = [];
    for (let i = 1; i <= users; i++) {
      if (2 + (i % regular) === g || 2 + ((i * 7) % regular) === g) out.push(f.userDn(i));
    }
    return out;
  }
  return [g * 3, g * 3 + 1, g * 3 + 2].map((i) => f.userDn(1 + (i % users)));
}

export interface Account {
  dn: string;
  password: string;
}

function* directoryLdif(f: DirectoryFixture, accounts: Account[], memberOf: boolean): Generator<string> {
  yield `dn: ${SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n`;
  for (const ou of ['people', 'groups', 'services', 'restricted']) yield `dn: ou=${ou},${SUFFIX}\nobjectClass: organizationalUnit\nou: ${ou}\n`;
  for (const a of accounts) {
    yield `dn: ${a.dn}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: ${a.dn.slice(3, a.dn.indexOf(','))}\nuserPassword: ${a.password}\n`;
  }
  yield `dn: uid=hidden,${RESTRICTED}\nobjectClass: inetOrgPerson\nuid: hidden\ncn: Hidden\nsn: Hidden\n`;
  yield `dn: ${f.nonPersonDn}\nobjectClass: device\ncn: printer\n`;

  const parents = new Map<string, string[]>();
  if (memberOf) {
    for (let g = 1; g <= f.shape.groups; g++) {
      for (const m of groupMembers(f, g)) {
        let list = parents.get(m);
        if (!list) parents.set(m, (list = []));
        list.push(f.groupDn(g));
      }
    }
  }
  const memberOfLines = (dn: string) => (parents.get(dn) ?? []).map((p) => `memberOf: ${p}\n`).join('');

  const departments = ['Engineering', 'Sales', 'Finance', 'Support', 'Legal'];
  const titles = ['Engineer', 'Manager', 'Analyst', 'Director'];
  for (let i = 1; i <= f.shape.users; i++) {
    const dn = f.userDn(i);
    const uid = dn.slice(4, dn.indexOf(','));
    const ts = generalizedTime(i * 60);
    let e = `dn: ${dn}\nobjectClass: inetOrgPerson\nuid: ${uid}\ncn: User ${i}\ngivenName: Given${i}\nsn: Family${i}\n`;
    e += `mail: ${uid}@example.org\ndepartmentNumber: ${departments[i % departments.length]}\ntitle: ${titles[i % titles.length]}\nemployeeNumber: E${pad(i, 5)}\n`;
    if (i % 2 === 0) e += `displayName: Display ${i}\n`;
    if (i > 100) e += `manager: ${f.userDn(1 + (i % 100))}\n`;
    if (i % 3 === 0) e += `telephoneNumber: +1 555 ${pad(i, 4)}\ntelephoneNumber: +1 666 ${pad(i, 4)}\n`;
    e += `userPassword: user-pw-${i}\ncreateTimestamp: ${ts}\nmodifyTimestamp: ${ts}\n`;
    e += memberOfLines(dn);
    yield e;
  }
  for (let g = 1; g <= f.shape.groups; g++) {
    const dn = f.groupDn(g);
    const cn = dn.slice(3, dn.indexOf(','));
    const ts = generalizedTime(f.shape.users * 60 + g * 60);
    let e = `dn: ${dn}\nobjectClass: groupOfNames\ncn: ${cn}\ndescription: Group number ${g}\n`;
    e += groupMembers(f, g).map((m) => `member: ${m}\n`).join('');
    e += `createTimestamp: ${ts}\nmodifyTimestamp: ${ts}\n`;
    e += memberOfLines(dn);
    yield e;
  }
}

function slapdConf(dir: string, opts: { readerDn: string; limitedDn: string; pagedDn: string; adminDn: string; adminPw: string; memberOf: boolean }): string {
  return `# generated by test/helpers/slapd.ts
include ${SCHEMA_DIR}/core.schema
include ${SCHEMA_DIR}/cosine.schema
include ${SCHEMA_DIR}/inetorgperson.schema
include ${SCHEMA_DIR}/nis.schema
modulepath ${MODULE_DIR}
moduleload back_mdb
${opts.memberOf ? 'moduleload memberof' : ''}
pidfile ${dir}/slapd.pid
argsfile ${dir}/slapd.args
TLSCACertificateFile ${dir}/ca.pem
TLSCertificateFile ${dir}/server.pem
TLSCertificateKeyFile ${dir}/server.key
sizelimit 500

database mdb
maxsize 268435456
suffix "${SUFFIX}"
rootdn "${opts.adminDn}"
rootpw ${opts.adminPw}
directory ${dir}/db
index objectClass eq
index entryUUID eq
index uid,cn,mail eq
index member eq
limits dn.exact="${opts.readerDn}" size=unlimited time=unlimited
limits dn.exact="${opts.pagedDn}" size.soft=100 size.hard=100 size.pr=100 size.prtotal=unlimited
${opts.memberOf ? 'overlay memberof\nmemberof-group-oc groupOfNames\nmemberof-member-ad member\nmemberof-memberof-ad memberOf\nmemberof-refint TRUE' : ''}

access to attrs=userPassword
  by self write
  by anonymous auth
  by * none
access to dn.subtree="${RESTRICTED}"
  by dn.exact="${opts.readerDn}" read
  by dn.exact="${opts.limitedDn}" disclose
  by * none
access to *
  by dn.exact="${opts.readerDn}" read
  by dn.exact="${opts.limitedDn}" read
  by dn.exact="${opts.pagedDn}" read
  by * none
`;
}

async function makeCertificates(dir: string): Promise<void> {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const ca = (name: string, cn: string) =>
    run('openssl', ['req', '-x509', ...ec, '-keyout', `${dir}/${name}.key`, '-out', `${dir}/${name}.pem`, '-days', '3', '-subj', `/CN=${cn}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  await Promise.all([ca('ca', 'PIP Test CA'), ca('other-ca', 'Unrelated Test CA'),
    run('openssl', ['req', '-new', ...ec, '-keyout', `${dir}/server.key`, '-out', `${dir}/server.csr`, '-subj', '/CN=localhost'])]);
  fs.writeFileSync(`${dir}/server.ext`, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n');
  await run('openssl', ['x509', '-req', '-in', `${dir}/server.csr`, '-CA', `${dir}/ca.pem`, '-CAkey', `${dir}/ca.key`, '-CAcreateserial',
    '-out', `${dir}/server.pem`, '-days', '3', '-extfile', `${dir}/server.ext`]);
}

/** Parses ldapsearch -LLL output (base64 values decoded, continuation lines joined). */
export function parseLdif(text: string): LdifEntry[] {
  const out: LdifEntry[] = [];
  for (const block of text.replace(/\n /g, '').split(/\n\n+/)) {
    const lines = block.split('\n').filter((l) => l && !l.startsWith('#'));
    if (lines.length === 0) continue;
    const entry = {} as LdifEntry;
    for (const line of lines) {
      const m = /^([^:]+)(::?) ?(.*)$/.exec(line);
      if (!m) continue;
      const value = m[2] === '::' ? Buffer.from(m[3]!, 'base64').toString('utf8') : m[3]!;
      if (m[1] === 'dn') entry.dn = value;
      else (entry[m[1]!] ??= []).push(value);
    }
    if (entry.dn !== undefined) out.push(entry);
  }
  return out;
}

async function waitUntilAnswering(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`slapd exited with ${child.exitCode}: ${log()}`);
    try {
      await run('ldapsearch', ['-x', '-H', url, '-b', '', '-s', 'base', '-LLL', '1.1'], { timeout: 2000 });
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`slapd did not answer on ${url}: ${log()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

export async function startSlapd(shape: DirectoryShape = DEFAULT_SHAPE): Promise<SlapdServer> {
  const t0 = Date.now();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pip-slapd-'));
  const live: { child?: ChildProcess } = {};
  const killOnExit = () => live.child?.kill('SIGKILL');
  process.once('exit', killOnExit);
  try {
    fs.mkdirSync(`${dir}/db`);
    const admin = { dn: `cn=admin,${SUFFIX}`, password: 'admin-secret-1' };
    const reader = { dn: `cn=pip-reader,ou=services,${SUFFIX}`, password: 'Reader-pw-7c1e' };
    const limited = { dn: `cn=pip-limited,ou=services,${SUFFIX}`, password: 'Limited-pw-02ab' };
    const paged = { dn: `cn=pip-paged,ou=services,${SUFFIX}`, password: 'Paged-pw-5d3c' };
    const memberOf = fs.existsSync(`${MODULE_DIR}/memberof.so`) || fs.existsSync(`${MODULE_DIR}/memberof.la`);
    await makeCertificates(dir);
    const certsMs = Date.now() - t0;

    const t1 = Date.now();
    const fixture = directoryFixture(shape);
    const conf = `${dir}/slapd.conf`;
    fs.writeFileSync(conf, slapdConf(dir, { readerDn: reader.dn, limitedDn: limited.dn, pagedDn: paged.dn, adminDn: admin.dn, adminPw: admin.password, memberOf }));
    const ldifPath = `${dir}/data.ldif`;
    const fd = fs.openSync(ldifPath, 'w');
    for (const entry of directoryLdif(fixture, [reader, limited, paged], memberOf)) {
      fs.writeSync(fd, `${entry}\n`);
    }
    fs.closeSync(fd);
    const generateMs = Date.now() - t1;

    const t2 = Date.now();
    await run(SLAPADD, ['-q', '-f', conf, '-l', ldifPath]).catch((err: { stderr?: string }) => {
      throw new Error(`slapadd failed: ${err.stderr ?? err}`);
    });
    const slapaddMs = Date.now() - t2;

    const t3 = Date.now();
    // a port picked free can be taken by someone else before slapd binds it: try fresh ports then
    let started: { child: ChildProcess; exited: Promise<void>; port: number; ldapsPort: number } | undefined;
    for (let attempt = 1; !started; attempt++) {
      const [port, ldapsPort] = [await freePort(), await freePort()];
      let stderr = '';
      // -d 0: stay in the foreground (this process owns it) without debug output
      const child = spawn(SLAPD, ['-d', '0', '-f', conf, '-h', `ldap://127.0.0.1:${port}/ ldaps://127.0.0.1:${ldapsPort}/`], { stdio: ['ignore', 'ignore', 'pipe'] });
      live.child = child;
      child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      try {
        await waitUntilAnswering(`ldap://127.0.0.1:${port}`, child, () => stderr);
        started = { child, exited, port, ldapsPort };
      } catch (err) {
        child.kill('SIGKILL');
        await exited;
        if (attempt >= 3) throw err;
      }
    }
    const { child, exited, port, ldapsPort } = started;
    const url = `ldap://127.0.0.1:${port}`;
    const ldapsUrl = `ldaps://127.0.0.1:${ldapsPort}`;
    const startMs = Date.now() - t3;

    const adminArgs = ['-x', '-H', url, '-D', admin.dn, '-w', admin.password];
    const server: SlapdServer = {
      url,
      ldapsUrl,
      port,
      ldapsPort,
      dir,
      admin,
      reader,
      limited,
      paged,
      caPem: fs.readFileSync(`${dir}/ca.pem`, 'utf8'),
      otherCaPem: fs.readFileSync(`${dir}/other-ca.pem`, 'utf8'),
      memberOfOverlay: memberOf,
      fixture,
      timings: { certsMs, generateMs, slapaddMs, startMs, totalMs: Date.now() - t0 },
      async search(base, filter, attributes = [], opts = {}) {
        const bind = opts.as ?? admin;
        const paging = opts.paged === false ? [] : ['-E', 'pr=1000/noprompt'];
        const { stdout } = await run('ldapsearch', ['-x', '-H', url, '-D', bind.dn, '-w', bind.password, '-LLL', '-o', 'ldif-wrap=no', ...paging, '-s', opts.scope ?? 'sub', '-b', base, filter, ...attributes], {
          maxBuffer: 256 * 1024 * 1024,
        });
        return parseLdif(stdout);
      },
      async modify(ldif) {
        await new Promise<void>((resolve, reject) => {
          const p = spawn('ldapmodify', adminArgs, { stdio: ['pipe', 'ignore', 'pipe'] });
          let err = '';
          p.stderr!.on('data', (d: Buffer) => (err += d.toString()));
          p.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`ldapmodify exited ${code}: ${err}`))));
          p.stdin!.end(ldif);
        });
      },
      async stop() {
        process.removeListener('exit', killOnExit);
        if (child.exitCode === null) {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
          await exited;
          clearTimeout(timer);
        }
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
    return server;
  } catch (err) {
    killOnExit();
    process.removeListener('exit', killOnExit);
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
