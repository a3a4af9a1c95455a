/**
 * What every SQL connector shares, driver-agnostic. A connector supplies a `SqlDialect` and a
 * `SqlSession` over its driver; everything else lives here:
 *   sql-dialect.ts  dialect strategy, identifier quoting, bound parameters, type mapping
 *   sql-catalog.ts  information_schema rows → CatalogStream[] (keys, relations, cursor candidates)
 *   sql-plan.ts     keyset / cursor read planning with bound parameters, targeted reads by key
 *   sql-reader.ts   the streaming reader emitting records, state checkpoints and stream status
 *   name-filter.ts  schema / table include / exclude filters (globs or /regex/)
 *   sql-connection.ts  guard → open → work within the time budget → close, for every verb
 *   sql-config.ts   the shared TypeBox config (host, TLS, filters, timeouts), wizard steps, TLS options
 */
export * from './sql-dialect.ts';
export * from './sql-catalog.ts';
export * from './sql-plan.ts';
export * from './sql-reader.ts';
export * from './name-filter.ts';
export * from './sql-connection.ts';
export * from './sql-config.ts';
