/**
 * The ordered list of migrations. Listed statically (not read from the directory) so the same
 * migrations run under tsx, vitest and a compiled build; knex records each name once.
 */
import type { Knex } from 'knex';
import * as foundation from './20261122_0001_foundation.ts';
import * as connections from './20261122_0002_connections.ts';
import * as syncRecords from './20261122_0003_sync_records.ts';
import * as opal from './20261122_0004_opal.ts';
import * as oauthWebhooks from './20261122_0005_oauth_webhooks.ts';
import * as subscriptions from './20261122_0006_subscriptions.ts';

export interface Migration {
  name: string;
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

export const migrations: Migration[] = [
  { name: '20261122_0001_foundation', ...foundation },
  { name: '20261122_0002_connections', ...connections },
  { name: '20261122_0003_sync_records', ...syncRecords },
  { name: '20261122_0004_opal', ...opal },
  { name: '20261122_0005_oauth_webhooks', ...oauthWebhooks },
  { name: '20261122_0006_subscriptions', ...subscriptions },
];
