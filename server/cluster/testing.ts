/**
 * Where the several-process tests find PostgreSQL and Redis: PG_TEST_URL's
 * server with the database <name>_cluster (scripts/start-test-postgres.sh
 * makes both) and REDIS_TEST_URL (scripts/start-test-redis.sh). Null when
 * they are not set; in CI they must be.
 */
export function clusterTestUrls(): { postgres: string; redis: string } | null {
  const pg = process.env.PG_TEST_URL;
  const redis = process.env.REDIS_TEST_URL;
  if (!pg || !redis) {
    if (process.env.CI === "true")
      throw new Error("PG_TEST_URL and REDIS_TEST_URL must be set: CI runs the several-process tests (see .ci/run)");
    return null;
  }
  return { postgres: clusterDatabaseUrl(pg), redis };
}

/** The several-process tests' database beside PG_TEST_URL's: <name>_cluster. */
export function clusterDatabaseUrl(pgTestUrl: string): string {
  const url = new URL(pgTestUrl);
  url.pathname = `${url.pathname}_cluster`;
  return url.toString();
}
