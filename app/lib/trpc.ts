"use client";
/** The browser's tRPC client. A share token, when present, rides along in a header. */
import { createTRPCClient, httpLink, TRPCClientError } from "@trpc/client";
import type { AppRouter } from "../../server/api/router";

export function createApi(shareToken: string | null = null) {
  return createTRPCClient<AppRouter>({
    links: [
      httpLink({
        url: "/api/trpc",
        headers: () => (shareToken ? { "x-share-token": shareToken } : {}),
      }),
    ],
  });
}

export type Api = ReturnType<typeof createApi>;

/** A user-facing message for any error thrown by the API client. */
export function errorMessage(err: unknown): string {
  if (err instanceof TRPCClientError) return err.message;
  return err instanceof Error ? err.message : String(err);
}
