import { describe, expect, it } from 'vitest';
import { SourceError } from './errors.ts';
import { createNetworkGuard } from './network-guard.ts';

/** A resolver answering from a table, recording what it was asked. */
function fakeDns(table: Record<string, string[]>) {
  const asked: string[] = [];
  const resolve = async (host: string): Promise<string[]> => {
    asked.push(host);
    const found = table[host];
    if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return found;
  };
  return { asked, resolve };
}

async function refusal(promise: Promise<void>): Promise<SourceError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof SourceError)) throw new Error(`expected a SourceError, got ${String(err)}`);
  return err;
}

describe('createNetworkGuard', () => {
  it('refuses cloud metadata addresses even when allowed explicitly', async () => {
    const guard = createNetworkGuard({ allow: ['169.254.169.254', '169.254.0.0/16', 'fd00::/8', '100.64.0.0/10'] });
    for (const host of ['169.254.169.254', 'fd00:ec2::254', '100.100.100.200', '[fd00:ec2::254]']) {
      const err = await refusal(guard.assertAllowed(host));
      expect(err.kind).toBe('blocked');
      expect(err.source).toBe('network');
    }
  });

  it('refuses metadata host names without resolving them', async () => {
    const dns = fakeDns({ 'metadata.google.internal': ['10.0.0.1'] });
    const guard = createNetworkGuard({ resolve: dns.resolve, allow: ['metadata.google.internal'] });
    expect((await refusal(guard.assertAllowed('Metadata.Google.Internal.'))).kind).toBe('blocked');
    expect(dns.asked).toEqual([]);
  });

  it('refuses link-local addresses, also IPv4-mapped and NAT64 forms', async () => {
    const guard = createNetworkGuard();
    for (const host of ['169.254.10.1', 'fe80::1', '::ffff:169.254.169.254', '::ffff:a9fe:a9fe', '64:ff9b::a9fe:a9fe', '2002:a9fe:a9fe::1']) {
      expect((await refusal(guard.assertAllowed(host))).kind, host).toBe('blocked');
    }
  });

  it('refuses a host when any of its resolved addresses is refused', async () => {
    const dns = fakeDns({ 'db.example.com': ['203.0.113.10', '169.254.169.254'] });
    const guard = createNetworkGuard({ resolve: dns.resolve });
    const err = await refusal(guard.assertAllowed('db.example.com'));
    expect(err.kind).toBe('blocked');
    expect(err.message).toContain('metadata');
  });

  it('allows private and loopback addresses by default', async () => {
    const dns = fakeDns({ 'db.internal': ['10.1.2.3', 'fd12::5'], localhost: ['127.0.0.1', '::1'] });
    const guard = createNetworkGuard({ resolve: dns.resolve });
    await expect(guard.assertAllowed('db.internal')).resolves.toBeUndefined();
    await expect(guard.assertAllowed('localhost')).resolves.toBeUndefined();
    await expect(guard.assertAllowed('192.168.1.1')).resolves.toBeUndefined();
  });

  it('refuses private addresses when allowPrivate is false, unless allowed', async () => {
    const dns = fakeDns({ 'db.internal': ['10.1.2.3'], 'hr.internal': ['172.20.0.5'] });
    const guard = createNetworkGuard({ allowPrivate: false, allow: ['hr.internal', '192.168.7.0/24'], resolve: dns.resolve });
    for (const host of ['db.internal', '10.0.0.1', '172.31.255.255', '192.168.1.1', 'fc00::1', '::ffff:10.0.0.1']) {
      expect((await refusal(guard.assertAllowed(host))).kind, host).toBe('blocked');
    }
    await expect(guard.assertAllowed('hr.internal')).resolves.toBeUndefined();
    await expect(guard.assertAllowed('192.168.7.20')).resolves.toBeUndefined();
    await expect(guard.assertAllowed('172.32.0.1')).resolves.toBeUndefined();
  });

  it('refuses loopback when denied, and lets allow override deny', async () => {
    const dns = fakeDns({ localhost: ['127.0.0.1'], 'pg.corp.example': ['10.9.0.1'] });
    const guard = createNetworkGuard({ deny: ['127.0.0.0/8', '10.0.0.0/8', '*.example'], allow: ['pg.corp.example'], resolve: dns.resolve });
    expect((await refusal(guard.assertAllowed('localhost'))).kind).toBe('blocked');
    expect((await refusal(guard.assertAllowed('::ffff:127.0.0.1'))).kind).toBe('blocked');
    expect((await refusal(guard.assertAllowed('10.2.3.4'))).kind).toBe('blocked');
    await expect(guard.assertAllowed('pg.corp.example')).resolves.toBeUndefined();
  });

  it('denies by host name with wildcards', async () => {
    const dns = fakeDns({ 'a.bad.example': ['198.51.100.1'], 'good.example': ['198.51.100.2'] });
    const guard = createNetworkGuard({ deny: ['*.bad.example'], resolve: dns.resolve });
    expect((await refusal(guard.assertAllowed('a.bad.example'))).kind).toBe('blocked');
    await expect(guard.assertAllowed('good.example')).resolves.toBeUndefined();
  });

  it('reports a host that does not resolve as a dns error', async () => {
    const guard = createNetworkGuard({ resolve: fakeDns({}).resolve });
    const err = await refusal(guard.assertAllowed('nowhere.invalid'));
    expect(err.kind).toBe('dns');
    expect(err.message).toContain('ENOTFOUND');
  });

  it('resolves real names with dns.lookup by default', async () => {
    await expect(createNetworkGuard().assertAllowed('localhost')).resolves.toBeUndefined();
    await expect(createNetworkGuard({ deny: ['127.0.0.0/8', '::1'] }).assertAllowed('localhost')).rejects.toMatchObject({ kind: 'blocked' });
  });

  it('rejects malformed allow / deny entries at creation', () => {
    expect(() => createNetworkGuard({ deny: ['10.0.0.0/33'] })).toThrow(SourceError);
    expect(() => createNetworkGuard({ allow: ['not a host!'] })).toThrow(/neither a CIDR nor a host name/);
  });
});
