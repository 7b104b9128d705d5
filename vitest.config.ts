import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: [
      "app/**/*.test.ts",
      "protocol/**/*.test.ts",
      "render-core/**/*.test.ts",
      "server/**/*.test.ts",
      "shaders/**/*.test.ts",
      "scripts/**/*.test.ts",
    ],
    environment: "node",
    // Real servers, real SQLite files and WebGPU on llvmpipe: seconds, not milliseconds.
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // Two cores: more workers only fight over them.
    maxWorkers: 2,
  },
});
