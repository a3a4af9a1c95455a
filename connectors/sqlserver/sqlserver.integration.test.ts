/**
 * Against a real SQL Server when MSSQL_URL is set, e.g.
 *   mssql://sa:Passw0rd!@localhost:1433/master?trustServerCertificate=true
 * skipped otherwise. Creates scratch tables, proves check + discover + full and incremental reads
 * (including datetime2(7) ties across page boundaries and a varchar key), drops them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, recordsOf, statesOf, testContext, testReadContext } from '../../test/fakes/connector-context.ts';
import { SqlServerClient } from './client.ts';
import connector, { parseSqlServerConfig } from './index.ts';

const url = process.env.MSSQL_URL;

function configFromUrl(raw: string) {
  const u = new URL(raw);
  return parseSqlServerConfig({
    host: u.hostname,
    port: u.port ? Number(u.port) : 1433,
    database: decodeURIComponent(u.pathname.slice(1)) || 'master',
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    encrypt: u.searchParams.get('encrypt') !== 'false',
    trustServerCertificate: u.searchParams.get('trustServerCertificate') === 'true',
    batchSize: 2,
  });
}

describe.skipIf(!url)('SQL Server connector against MSSQL_URL', () => {
  const config = configFromUrl(url ?? 'mssql://x:y@localhost/master');
  const table = `pip_it_${Date.now()}`;
  const admin = new SqlServerClient(config);
  const exec = (text: string) => admin.query({ text, values: [] });

  beforeAll(async () => {
    await exec(`CREATE TABLE dbo.[${table}] (code varchar(10) NOT NULL PRIMARY KEY, email nvarchar(100) NOT NULL, updated_at datetime2(7) NOT NULL)`);
    await exec(
      `INSERT INTO dbo.[${table}] VALUES ('a', N'a@example.com', '2024-01-01T00:00:00.0000001'), ('b', N'b@example.com', '2024-01-01T00:00:00.0000002'), ` +
        `('c', N'c@example.com', '2024-01-01T00:00:00.0000002'), ('d', N'd@example.com', '2024-01-01T00:00:00.0000002')`,
    );
  });

  afterAll(async () => {
    await exec(`DROP TABLE IF EXISTS dbo.[${table}]`).catch(() => undefined);
    await admin.close();
  });

  it('checks, discovers and reads fully then incrementally', async () => {
    expect(await connector.check(config, testContext())).toHaveProperty('serverVersion');

    const catalog = await connector.discover(config, testContext());
    const stream = catalog.streams.find((s) => s.name === table);
    expect(stream).toMatchObject({ primaryKey: ['code'], cursorCandidates: ['updated_at'] });
    expect(stream?.fields.find((f) => f.name === 'updated_at')).toMatchObject({ type: 'datetime', sourceType: 'datetime2(7)' });

    const configured = { name: table, fields: [], primaryKey: ['code'], syncMode: 'incremental' as const, cursorField: 'updated_at' };
    const first = await collect(connector.read(config, { streams: [configured] }, testReadContext()));
    expect(recordsOf(first).map((r) => r.code)).toEqual(['a', 'b', 'c', 'd']);
    const states = statesOf(first);
    // resume after the first page: the ties on .0000002 must not be lost or repeated
    const resumed = await collect(connector.read(config, { streams: [configured] }, testReadContext({ state: { [table]: states[0] } })));
    expect(recordsOf(resumed).map((r) => r.code)).toEqual(['c', 'd']);

    await exec(`UPDATE dbo.[${table}] SET updated_at = '2024-01-02T00:00:00' WHERE code = 'a'`);
    const second = await collect(connector.read(config, { streams: [configured] }, testReadContext({ state: { [table]: states.at(-1) } })));
    expect(recordsOf(second).map((r) => r.code)).toEqual(['a']);

    const full = await collect(connector.read(config, { streams: [{ ...configured, syncMode: 'full' }] }, testReadContext()));
    expect(recordsOf(full)).toHaveLength(4);
  });
});
