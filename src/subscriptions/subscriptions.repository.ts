/** `connection_subscriptions`: one row per connection whose connector keeps provider push subscriptions. */
import type { Executor } from '../db/database.ts';
import type { SubscriptionState } from '../../connectors/sdk/types.ts';

export type SubscriptionStatus = 'active' | 'failed';

export interface SubscriptionRow {
  tenant_id: string;
  connection_id: string;
  connector_type: string;
  status: SubscriptionStatus;
  callback_url: string | null;
  state: SubscriptionState | null;
  expires_at: Date | null;
  renew_at: Date;
  failures: number;
  last_error: { code: string; message: string } | null;
  created_at: Date;
  updated_at: Date;
}

/** a connection of a subscribing connector type, with its subscription row when it has one */
export interface SubscriptionCandidate {
  connection_id: string;
  tenant_id: string;
  type: string;
  status: 'active' | 'paused';
  config: Record<string, unknown>;
  has_row: boolean;
  state: SubscriptionState | null;
}

export const subscriptionsRepository = {
  /**
   * connections a pass should look at: those without a row (maybe to subscribe) and those whose
   * row is due — a page at a time in id order (`after`: the last id of the previous page)
   */
  async candidates(db: Executor, p: { types: string[]; now: Date; after?: string; limit: number }): Promise<SubscriptionCandidate[]> {
    const { rows } = await db.raw<{ rows: SubscriptionCandidate[] }>(
      `select c.id as connection_id, c.tenant_id, c.type, c.status, c.config, s.connection_id is not null as has_row, s.state
         from connections c
         left join connection_subscriptions s on s.connection_id = c.id
        where c.type = any(?) and (s.connection_id is null or s.renew_at <= ?) and c.id > ?
        order by c.id
        limit ?`,
      [p.types, p.now, p.after ?? '00000000-0000-0000-0000-000000000000', p.limit],
    );
    return rows;
  },

  /**
   * takes the connection's subscription work for this worker until `leaseUntil`: inserts the row,
   * or moves a due row's renew_at forward; undefined when another worker got there first
   */
  async claim(db: Executor, p: { tenantId: string; connectionId: string; type: string; now: Date; leaseUntil: Date }): Promise<SubscriptionRow | undefined> {
    const { rows } = await db.raw<{ rows: SubscriptionRow[] }>(
      `insert into connection_subscriptions (tenant_id, connection_id, connector_type, status, renew_at)
       values (?, ?, ?, 'failed', ?)
       on conflict (connection_id) do update set renew_at = excluded.renew_at, updated_at = now()
         where connection_subscriptions.renew_at <= ?
       returning *`,
      [p.tenantId, p.connectionId, p.type, p.leaseUntil, p.now],
    );
    return rows[0];
  },

  async update(db: Executor, connectionId: string, patch: Partial<Pick<SubscriptionRow, 'status' | 'callback_url' | 'state' | 'expires_at' | 'renew_at' | 'failures' | 'last_error'>>): Promise<void> {
    const values: Record<string, unknown> = { ...patch, updated_at: new Date() };
    if ('state' in patch) values.state = patch.state === null ? null : JSON.stringify(patch.state);
    if ('last_error' in patch) values.last_error = patch.last_error === null ? null : JSON.stringify(patch.last_error);
    await db('connection_subscriptions').where({ connection_id: connectionId }).update(values);
  },

  async delete(db: Executor, connectionId: string): Promise<void> {
    await db('connection_subscriptions').where({ connection_id: connectionId }).delete();
  },

  async get(db: Executor, tenantId: string, connectionId: string): Promise<SubscriptionRow | undefined> {
    return db('connection_subscriptions').where({ tenant_id: tenantId, connection_id: connectionId }).first();
  },

  /** makes the row due now; false when the connection has none */
  async makeDue(db: Executor, tenantId: string, connectionId: string): Promise<boolean> {
    return (await db('connection_subscriptions').where({ tenant_id: tenantId, connection_id: connectionId }).update({ renew_at: new Date(), updated_at: new Date() })) > 0;
  },
};
