/**
 * Where the several-process tests find PostgreSQL and Redis: PG_TEST_URL
 * (scripts/start-test-postgres.sh) and REDIS_TEST_URL (scripts/start-test-
 * redis.sh). Null when they are not set; in CI they must be.
 *
 * Each test file (and each bench:cluster row) gets a database of its own
 * (freshDatabase): a studio's workers take every unfinished job in their
 * database, so two tests sharing one would run each other's jobs.
 */
import { randomUUID } from "node:crypto";
import pg from "pg";

export function clusterTestUrls(): { postgres: string; redis: string } | null {
  const postgres = process.env.PG_TEST_URL;
  const redis = process.env.REDIS_TEST_URL;
  if (!postgres || !redis) {
    if (process.env.CI === "true")
      throw new Error("PG_TEST_URL and REDIS_TEST_URL must be set: CI runs the several-process tests (see .ci/run)");
    return null;
  }
  return { postgres, redis };
}

/** A new, empty database on the server of `pgUrl` (named perse_test_<random>); its URL. */
export async function freshDatabase(pgUrl: string): Promise<string> {
  const name = `perse_test_${randomUUID().replace(/-/g, "").slice(0, 16)}`;
  const client = new pg.Client({ connectionString: pgUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(pgUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
