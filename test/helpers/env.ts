/** Where the tests find the machine's real services (override with environment variables). */
export const TEST_PG_ADMIN_URL = process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const TEST_MYSQL_URL = process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306';

export type Backend = 'embedded' | 'postgres';
/** storage backends the service tests run on: both by default */
export const BACKENDS: Backend[] = (process.env.PIP_TEST_BACKENDS ?? 'embedded,postgres').split(',').map((s) => s.trim()) as Backend[];
