/**
 * The data plane's routes as one plugin: OPAL/OPA-facing routes with their own authentication,
 * admin routes behind API keys. Stops the publisher when the app closes.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { OpalServices } from './opal.container.ts';
import { pipDataRoutes } from './pip-data.routes.ts';
import { opalConfigRoutes } from './opal-config.routes.ts';

export const opalRoutes: FastifyPluginAsyncTypebox<{ opal: OpalServices }> = async (app, { opal }) => {
  app.addHook('onClose', async () => opal.publisher.stop());
  await app.register(pipDataRoutes, { opal: opal.service, access: opal.access });
  await app.register(opalConfigRoutes, { opal: opal.service, verifier: opal.verifier });
};
