import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { errorResponses } from '../http/schemas.ts';
import { PipError } from '../errors.ts';
import { PLATFORM_CHAIN, type AuditService } from '../audit/audit.service.ts';
import type { SecretsService } from './secrets.service.ts';

const Counts = Type.Record(Type.String(), Type.Integer(), { description: 'stored secrets per key version' });

export const secretsRoutes: FastifyPluginAsyncTypebox<{ secrets: SecretsService; audit: AuditService }> = async (app, { secrets, audit }) => {
  app.get('/pip/admin/encryption', {
    schema: {
      tags: ['secrets'],
      summary: 'Encryption key status (platform admin): current version and secrets per version',
      response: { 200: Type.Object({ key_version: Type.Integer(), key_source: Type.String(), loaded_versions: Type.Array(Type.Integer()), secrets_by_version: Counts }), ...errorResponses },
    },
    preHandler: app.requirePlatformAdmin,
  }, async () => secrets.status());

  app.post('/pip/admin/encryption/rotate', {
    schema: {
      tags: ['secrets'],
      summary: 'Re-encrypt every stored secret under the newest key (platform admin), online',
      description: 'With PIP_ENCRYPTION_KEYS, add a new highest version to the variable, restart, then call this. With the key file (embedded default), pass generate_key: true to add a new key version first.',
      body: Type.Object({ generate_key: Type.Optional(Type.Boolean({ default: false })) }, { additionalProperties: false }),
      response: { 200: Type.Object({ key_version: Type.Integer(), resealed: Type.Integer(), failed: Type.Array(Type.Object({ id: Type.String(), key_version: Type.Integer(), reason: Type.String() }), { description: 'rows that could not be opened and were left as they are' }), remaining_by_version: Counts }), ...errorResponses },
    },
    preHandler: app.requirePlatformAdmin,
  }, async (req) => {
    let result;
    try {
      result = await secrets.rotate({ newKey: req.body.generate_key });
    } catch (err) {
      if ((err as Error).message === 'KEYS_FROM_ENV') throw new PipError('PIP_BAD_REQUEST', 400, 'keys come from PIP_ENCRYPTION_KEYS: add a new version there and restart instead of generate_key');
      throw err;
    }
    await audit.recordAlone({ tenantId: PLATFORM_CHAIN, actor: req.ctx.actor, action: 'secrets.rotate', outcome: 'success', requestId: req.id, details: { key_version: result.key_version, resealed: result.resealed, failed: result.failed.map((f) => f.id) } });
    return result;
  });
};
