import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { PageQuery } from '../http/pagination.ts';
import { errorResponses, Page } from '../http/schemas.ts';
import type { SyncService } from './sync.service.ts';

const Params = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
const Status = Type.Union([Type.Literal('queued'), Type.Literal('running'), Type.Literal('succeeded'), Type.Literal('failed'), Type.Literal('cancelled')]);
const Trigger = Type.Union([Type.Literal('manual'), Type.Literal('schedule'), Type.Literal('webhook')]);
const Counters = Type.Object({ read: Type.Integer(), upserted: Type.Integer(), deleted: Type.Integer(), unchanged: Type.Integer(), pages: Type.Integer(), rate_limited_ms: Type.Optional(Type.Number()) });
const JobError = Type.Object({ code: Type.String(), kind: Type.String(), message: Type.String(), hint: Type.Optional(Type.String()), retryable: Type.Boolean() });
const Job = Type.Object({
  id: Type.String(),
  connection_id: Type.String(),
  trigger: Type.String(),
  mode: Type.String({ description: 'auto (each stream in its mapped mode), full, or targeted (webhook)' }),
  status: Status,
  attempts: Type.Integer(),
  cancel_requested: Type.Boolean(),
  counters: Counters,
  error: Type.Union([JobError, Type.Null()]),
  revision: Type.Union([Type.Integer(), Type.Null()], { description: 'connection revision after the run' }),
  created_at: Type.String({ format: 'date-time' }),
  started_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  finished_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  next_attempt_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  duration_ms: Type.Union([Type.Integer(), Type.Null()]),
  requested_by: Type.Union([Type.String(), Type.Null()]),
});
const JobWithLogs = Type.Intersect([Job, Type.Object({ logs: Type.Array(Type.Object({ at: Type.String(), level: Type.String(), message: Type.String() })) })]);
const Schedule = Type.Object({ connection_id: Type.String(), cron: Type.String(), timezone: Type.String(), enabled: Type.Boolean(), next_run_at: Type.String({ format: 'date-time' }) });
const JobFilters = Type.Intersect([PageQuery, Type.Object({ connection_id: Type.Optional(Type.String({ maxLength: 64 })), status: Type.Optional(Status), trigger: Type.Optional(Trigger) })]);

export const syncRoutes: FastifyPluginAsyncTypebox<{ sync: SyncService }> = async (app, { sync }) => {
  app.post('/pip/connections/:id/trigger-sync', {
    schema: {
      tags: ['sync'],
      summary: 'Queue a sync now; answers 202 with the job to poll (an identical queued job is reused)',
      params: Params,
      body: Type.Optional(Type.Object({
        full: Type.Optional(Type.Boolean({ description: 'read every stream in full, ignoring incremental state' })),
        allow_mass_delete: Type.Optional(Type.Boolean({ description: 'let this run delete more than the mass-delete threshold' })),
      }, { additionalProperties: false })),
      response: { 202: Type.Object({ job_id: Type.String(), status: Status, deduplicated: Type.Boolean() }), ...errorResponses },
    },
    preHandler: app.requireRole('editor'),
  }, async (req, reply) => {
    const r = await sync.trigger(req.ctx, req.params.id, req.body ?? {});
    return reply.code(202).header('location', `/pip/sync/jobs/${r.job_id}`).send(r);
  });

  app.get('/pip/sync/jobs/:id', {
    schema: { tags: ['sync'], summary: 'A sync job: status, progress counters, timings, error and log lines', params: Params, response: { 200: JobWithLogs, ...errorResponses } },
    preHandler: app.requireRole('viewer'),
  }, async (req) => sync.getJob(req.ctx, req.params.id));

  app.post('/pip/sync/jobs/:id/cancel', {
    schema: { tags: ['sync'], summary: 'Cancel a queued job at once, or a running one at its next checkpoint (nothing of it is applied)', params: Params, response: { 200: Job, ...errorResponses } },
    preHandler: app.requireRole('editor'),
  }, async (req) => sync.cancel(req.ctx, req.params.id));

  app.get('/pip/sync/jobs', {
    schema: { tags: ['sync'], summary: 'Sync jobs of the tenant, newest first', querystring: JobFilters, response: { 200: Page(Job), ...errorResponses } },
    preHandler: app.requireRole('viewer'),
  }, async (req) => sync.listJobs(req.ctx, req.query));

  app.get('/pip/connections/:id/sync-status', {
    schema: {
      tags: ['sync'],
      summary: 'Last run, next run, schedule and freshness of a connection',
      params: Params,
      response: {
        200: Type.Object({
          connection_id: Type.String(),
          revision: Type.Integer(),
          last_job: Type.Union([Job, Type.Null()]),
          last_finished_job: Type.Union([Job, Type.Null()]),
          last_success_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
          freshness_seconds: Type.Union([Type.Integer(), Type.Null()]),
          stale: Type.Boolean(),
          stale_after_seconds: Type.Integer(),
          schedule: Type.Union([Schedule, Type.Null()]),
          next_run_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
        }),
        ...errorResponses,
      },
    },
    preHandler: app.requireRole('viewer'),
  }, async (req) => sync.status(req.ctx, req.params.id));

  app.get('/pip/connections/:id/sync-history', {
    schema: { tags: ['sync'], summary: "A connection's sync runs, newest first", params: Params, querystring: Type.Intersect([PageQuery, Type.Object({ status: Type.Optional(Status) })]), response: { 200: Page(Job), ...errorResponses } },
    preHandler: app.requireRole('viewer'),
  }, async (req) => sync.history(req.ctx, req.params.id, req.query));

  app.post('/pip/connections/:id/schedule-sync', {
    schema: {
      tags: ['sync'],
      summary: 'Schedule syncs with a cron expression in a time zone',
      params: Params,
      body: Type.Object({
        cron: Type.String({ minLength: 9, maxLength: 120, description: 'five fields (minute hour day month weekday), e.g. "*/15 * * * *"' }),
        timezone: Type.Optional(Type.String({ maxLength: 64, default: 'UTC', description: 'IANA zone, e.g. Europe/Paris' })),
        enabled: Type.Optional(Type.Boolean({ default: true })),
      }, { additionalProperties: false }),
      response: { 200: Schedule, ...errorResponses },
    },
    preHandler: app.requireRole('editor'),
  }, async (req) => sync.schedule(req.ctx, req.params.id, req.body));

  app.delete('/pip/connections/:id/unschedule-sync', {
    schema: { tags: ['sync'], summary: "Remove a connection's schedule", params: Params, response: { 204: Type.Null(), ...errorResponses } },
    preHandler: app.requireRole('editor'),
  }, async (req, reply) => {
    await sync.unschedule(req.ctx, req.params.id);
    return reply.code(204).send(null);
  });

  app.post('/pip/sync/reschedule-all', {
    schema: { tags: ['sync'], summary: "Recompute every schedule's next run from now", response: { 200: Type.Object({ rescheduled: Type.Integer(), schedules: Type.Array(Schedule) }), ...errorResponses } },
    preHandler: app.requireRole('admin'),
  }, async (req) => sync.rescheduleAll(req.ctx));

  app.get('/pip/sync/scheduler-stats', {
    schema: {
      tags: ['sync'],
      summary: 'Jobs by state, success rate and average duration over a window',
      querystring: Type.Object({ hours: Type.Optional(Type.Integer({ minimum: 1, maximum: 24 * 90, default: 24 })) }),
      response: {
        200: Type.Object({
          window_hours: Type.Integer(),
          jobs_by_status: Type.Record(Type.String(), Type.Integer()),
          success_rate: Type.Union([Type.Number(), Type.Null()]),
          average_duration_ms: Type.Union([Type.Integer(), Type.Null()]),
          queue_waiting: Type.Union([Type.Integer(), Type.Null()]),
          schedules: Type.Object({ total: Type.Integer(), enabled: Type.Integer() }),
        }),
        ...errorResponses,
      },
    },
    preHandler: app.requireRole('viewer'),
  }, async (req) => sync.stats(req.ctx, req.query.hours));
};
