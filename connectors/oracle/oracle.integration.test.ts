/**
 * Against a real Oracle Database (12c+) when ORACLE_URL is set, e.g.
 *   oracle://pip:secret@localhost:1521/FREEPDB1      (a gvenzl/oracle-free container)
 * skipped otherwise. Creates a scratch table in the user's schema, proves check + discover + full
 * and incremental reads (TIMESTAMP(9) ties across page boundaries), drops it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, recordsOf, statesOf, testContext, testReadContext } from '../../test/fakes/connector-context.ts';
import { OracleClient } from './client.ts';
import connector, { parseOracleConfig } from './index.ts';

const url = process.env.ORACLE_URL;

function configFromUrl(raw: string) {
  const u = new URL(raw);
  return parseOracleConfig({
    host: u.hostname,
    port: u.port ? Number(u.port) : 1521,
    serviceName: decodeURIComponent(u.pathname.slice(1)),
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    tls: u.protocol === 'oracles:',
    batchSize: 2,
  });
}

describe.skipIf(!url)('Oracle connector against ORACLE_URL', () => {
  const config = configFromUrl(url ?? 'oracle://x:y@localhost/FREEPDB1');
  const table = `PIP_IT_${Date.now()}`;
  const admin = new OracleClient(config);
  const exec = (text: string) => admin.query({ text, values: [] });

  beforeAll(async () => {
    await exec(`CREATE TABLE "${table}" (ID NUMBER(10) PRIMARY KEY, EMAIL VARCHAR2(100) NOT NULL, UPDATED_AT TIMESTAMP(9) NOT NULL)`);
    for (const [id, at] of [[1, '2024-01-01 00:00:00.000000001'], [2, '2024-01-01 00:00:00.000000002'], [3, '2024-01-01 00:00:00.000000002'], [4, '2024-01-01 00:00:00.000000002']] as const) {
      await admin.query({
        text: `INSERT INTO "${table}" VALUES (:1, :2, TO_TIMESTAMP(:3, 'YYYY-MM-DD HH24:MI:SS.FF9'))`,
        values: [id, `u${id}@example.com`, at],
      });
    }
    await exec('COMMIT');
  });

  afterAll(async () => {
    await exec(`DROP TABLE "${table}" PURGE`).catch(() => undefined);
    await admin.close();
  });

  it('checks, discovers and reads fully then incrementally', async () => {
    expect(await connector.check(config, testContext())).toHaveProperty('currentSchema');

    const catalog = await connector.discover(config, testContext());
    const stream = catalog.streams.find((s) => s.name === table);
    expect(stream).toMatchObject({ primaryKey: ['ID'], cursorCandidates: ['UPDATED_AT', 'ID'] });
    expect(stream?.fields.find((f) => f.name === 'ID')).toMatchObject({ type: 'integer', sourceType: 'NUMBER(10,0)' });

    const configured = { name: table, fields: [], primaryKey: ['ID'], syncMode: 'incremental' as const, cursorField: 'UPDATED_AT' };
    const first = await collect(connector.read(config, { streams: [configured] }, testReadContext()));
    expect(recordsOf(first).map((r) => r.ID)).toEqual([1, 2, 3, 4]);
    const states = statesOf(first);
    const resumed = await collect(connector.read(config, { streams: [configured] }, testReadContext({ state: { [table]: states[0] } })));
    expect(recordsOf(resumed).map((r) => r.ID)).toEqual([3, 4]);

    await exec(`UPDATE "${table}" SET UPDATED_AT = TIMESTAMP '2024-01-02 00:00:00' WHERE ID = 1`);
    await exec('COMMIT');
    const second = await collect(connector.read(config, { streams: [configured] }, testReadContext({ state: { [table]: states.at(-1) } })));
    expect(recordsOf(second).map((r) => r.ID)).toEqual([1]);

    const full = await collect(connector.read(config, { streams: [{ ...configured, syncMode: 'full' }] }, testReadContext()));
    expect(recordsOf(full)).toHaveLength(4);
  });
});
