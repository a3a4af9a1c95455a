/** The Auth0 connector: Management API v2 users, roles and organizations, pushed updates from a log stream. */
import { RateLimitEvents } from '../sdk/http/index.ts';
import { isSourceError } from '../sdk/errors.ts';
import { defineConnector } from '../sdk/types.ts';
import { Auth0Client, baseUrl } from './client.ts';
import { auth0Catalog } from './discover.ts';
import { readAuth0 } from './read.ts';
import { auth0Spec, parseAuth0Config, type Auth0Config } from './spec.ts';
import { auth0Webhooks } from './webhooks.ts';

export { parseAuth0Config };

/** whether an optional permission is there: true, or the scope that is missing */
async function optional(probe: () => Promise<unknown>, scope: string): Promise<true | string> {
  try {
    await probe();
    return true;
  } catch (err) {
    if (isSourceError(err) && err.kind === 'permission') return `missing ${scope}`;
    throw err;
  }
}

export default defineConnector<Auth0Config>({
  type: 'auth0',
  displayName: 'Auth0',
  category: 'identity',
  description: 'Users, roles and organizations from the Auth0 Management API (past the 1,000-user listing limit through export jobs), kept current by a log stream.',
  spec: auth0Spec,
  templates: [
    {
      id: 'auth0-m2m',
      name: 'Machine-to-machine application',
      description: 'A Machine to Machine application authorized for the Management API with read scopes only.',
      config: { usersStrategy: 'auto' },
    },
  ],
  targets: (config) => [new URL(baseUrl(parseAuth0Config(config))).hostname],

  async check(config, ctx) {
    const client = new Auth0Client(parseAuth0Config(config), ctx);
    const users = await client.usersTotal();
    return {
      domain: client.cfg.domain,
      users,
      usersRead: client.cfg.usersStrategy === 'auto' ? (users < 1000 ? 'paged' : 'export job') : client.cfg.usersStrategy,
      roles: await optional(() => client.http.request({ url: '/roles', query: { per_page: 1 } }), 'read:roles'),
      organizations: await optional(() => client.http.request({ url: '/organizations', query: { take: 1 } }), 'read:organizations'),
    };
  },

  async discover(config) {
    parseAuth0Config(config);
    return auth0Catalog();
  },

  async *read(config, catalog, ctx) {
    const events = new RateLimitEvents();
    yield* readAuth0(new Auth0Client(parseAuth0Config(config), ctx, events), catalog, ctx, events);
  },

  webhooks: auth0Webhooks,
});
