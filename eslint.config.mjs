// Lint gates every commit (STYLE.md 12). The one architectural rule:
// render-core runs in browsers and in Node, so it imports nothing from node:*
// (its tests and the Node-only entry file may).
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/", ".next/", "data/", ".tmp/", "server/db/generated/", "next-env.d.ts", "test-results/", "playwright-report/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: "module" },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-non-null-assertion": "off",
      "no-constant-condition": ["error", { checkLoops: false }],
    },
  },
  {
    files: ["render-core/**/*.ts"],
    ignores: ["render-core/**/*.test.ts", "render-core/node.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        { patterns: [{ group: ["node:*", "fs", "path", "os", "worker_threads", "child_process", "crypto"], message: "render-core runs in the browser too: pass data in, keep Node APIs in server/." }] },
      ],
      "no-restricted-globals": ["error", "document", "window", "process", "Buffer"],
    },
  },
  {
    files: ["scripts/**/*.mjs"],
    languageOptions: { globals: { process: "readonly", console: "readonly" } },
  },
);
