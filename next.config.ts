import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  // Server-only and native packages stay outside the bundle; Yjs must be
  // loaded once or it warns "Yjs was already imported" and breaks types.
  serverExternalPackages: [
    "yjs",
    "y-websocket",
    "y-protocols",
    "lib0",
    "sharp",
    "webgpu",
    "onnxruntime-node",
    "better-sqlite3",
  ],
  reactStrictMode: true,
  poweredByHeader: false,
  devIndicators: false,
  // `npm run typecheck` checks the whole project (server and render-core too); no second pass here.
  typescript: { ignoreBuildErrors: true },
};

export default nextConfig;
