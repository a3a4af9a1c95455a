import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { errorResponses } from '../http/schemas.ts';
import { PipError } from '../errors.ts';
import type { ConnectorRegistry, RegisteredConnector } from './registry.ts';

const Step = Type.Object({ id: Type.String(), title: Type.String(), description: Type.Optional(Type.String()), fields: Type.Array(Type.String()) });
const Template = Type.Object({ id: Type.String(), name: Type.String(), description: Type.String(), config: Type.Record(Type.String(), Type.Unknown()) });
const ConnectorView = Type.Object({
  type: Type.String(),
  display_name: Type.String(),
  category: Type.Union([Type.Literal('identity'), Type.Literal('database'), Type.Literal('api'), Type.Literal('enterprise')]),
  description: Type.String(),
  auth_kinds: Type.Array(Type.String()),
  capabilities: Type.Object({ discovery: Type.Boolean(), incremental: Type.String(), webhooks: Type.Boolean(), targeted_read: Type.Boolean() }),
  config_schema: Type.Record(Type.String(), Type.Unknown(), { description: "JSON Schema of the config; secret fields carry 'x-secret': true" }),
  secret_fields: Type.Array(Type.String()),
  steps: Type.Array(Step, { description: 'ordered wizard steps grouping the config fields' }),
  templates: Type.Array(Template),
  documentation_url: Type.Optional(Type.String()),
});

/** the wizard's own steps around the connector's config steps */
export const WIZARD_FLOW = ['type', 'credentials', 'test', 'discover', 'map', 'schedule'] as const;

const view = ({ definition: d, config }: RegisteredConnector) => ({
  type: d.type,
  display_name: d.displayName,
  category: d.category,
  description: d.description,
  auth_kinds: d.spec.authKinds,
  capabilities: { discovery: d.spec.capabilities.discovery, incremental: d.spec.capabilities.incremental, webhooks: d.spec.capabilities.webhooks, targeted_read: d.spec.capabilities.targetedRead },
  config_schema: JSON.parse(JSON.stringify(d.spec.config)) as Record<string, unknown>,
  secret_fields: config.secrets,
  steps: d.spec.steps,
  templates: d.templates ?? [],
  documentation_url: d.spec.documentationUrl,
});

export const registryRoutes: FastifyPluginAsyncTypebox<{ registry: ConnectorRegistry }> = async (app, { registry }) => {
  const find = (type: string) => {
    const c = registry.get(type);
    if (!c) throw new PipError('PIP_CONNECTOR_NOT_FOUND', 404, `connector type ${type} is not available; GET /pip/connectors lists the available types`);
    return c;
  };

  app.get('/pip/connectors', {
    schema: {
      tags: ['connectors'],
      summary: 'Available connector types with their config schemas, wizard steps and templates',
      querystring: Type.Object({ category: Type.Optional(Type.Union([Type.Literal('identity'), Type.Literal('database'), Type.Literal('api'), Type.Literal('enterprise')])) }),
      response: { 200: Type.Object({ items: Type.Array(ConnectorView) }), ...errorResponses },
    },
    preHandler: app.requireRole('viewer'),
  }, async (req) => ({ items: registry.list().filter((c) => !req.query.category || c.definition.category === req.query.category).map(view) }));

  app.get('/pip/connectors/:type', {
    schema: { tags: ['connectors'], summary: 'One connector type', params: Type.Object({ type: Type.String({ maxLength: 64 }) }), response: { 200: ConnectorView, ...errorResponses } },
    preHandler: app.requireRole('viewer'),
  }, async (req) => view(find(req.params.type)));

  app.get('/pip/connectors/:type/templates', {
    schema: { tags: ['connectors'], summary: 'Pre-filled configurations for common setups', params: Type.Object({ type: Type.String({ maxLength: 64 }) }), response: { 200: Type.Object({ items: Type.Array(Template) }), ...errorResponses } },
    preHandler: app.requireRole('viewer'),
  }, async (req) => ({ items: find(req.params.type).definition.templates ?? [] }));

  app.post('/pip/connectors/:type/validate', {
    schema: {
      tags: ['connectors'],
      summary: "Validate one wizard step's fields (or `all`) of a config, without saving or connecting",
      description: `Steps are the connector's own config steps (see \`steps\`), or \`all\` for the whole config. The wizard flow around them is ${WIZARD_FLOW.join(' → ')}.`,
      params: Type.Object({ type: Type.String({ maxLength: 64 }) }),
      body: Type.Object({ step: Type.String({ minLength: 1, maxLength: 64 }), config: Type.Record(Type.String(), Type.Unknown()) }, { additionalProperties: false }),
      response: {
        200: Type.Object({
          valid: Type.Boolean(),
          step: Type.String(),
          next_step: Type.Union([Type.String(), Type.Null()], { description: 'the next config step, or `test` after the last one' }),
          problems: Type.Array(Type.Object({ path: Type.String(), message: Type.String() })),
        }),
        ...errorResponses,
      },
    },
    preHandler: app.requireRole('editor'),
  }, async (req) => {
    const c = find(req.params.type);
    const { step, config } = req.body;
    const steps = c.definition.spec.steps;
    const cfg = structuredClone(config);
    if (step === 'all') {
      const problems = c.config.validate(cfg);
      return { valid: problems.length === 0, step, next_step: problems.length ? null : 'test', problems };
    }
    const i = steps.findIndex((s) => s.id === step);
    if (i < 0) throw new PipError('PIP_UNKNOWN_STEP', 400, `connector ${c.definition.type} has no step ${step}; its steps are ${steps.map((s) => s.id).join(', ')} (or all)`);
    const problems = c.config.validateFields(cfg, steps[i]!.fields);
    return { valid: problems.length === 0, step, next_step: steps[i + 1]?.id ?? 'test', problems };
  });
};
