// Lint gates every commit (STYLE.md 12). Here: render-core and protocol/ run in
// browsers and in Node, so they import nothing from node:* and touch no DOM
// globals (their tests and render-core's Node-only entry file may). The import
// layers and cycles are checked by scripts/check-imports.mjs, the format by Prettier.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "node_modules/",
      ".next/",
      "data/",
      ".tmp/",
      "server/db/generated/",
      "next-env.d.ts",
      "test-results/",
      "playwright-report/",
    ],
  },
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
    // protocol/ is shared by the page and the server: the same rule.
    files: ["render-core/**/*.ts", "protocol/**/*.ts"],
    ignores: ["render-core/**/*.test.ts", "render-core/node.ts", "protocol/**/*.test.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["node:*", "fs", "path", "os", "worker_threads", "child_process", "crypto"],
              message: "render-core runs in the browser too: pass data in, keep Node APIs in server/.",
            },
          ],
        },
      ],
      "no-restricted-globals": [
        "error",
        "document",
        "window",
        "navigator",
        "location",
        "localStorage",
        "sessionStorage",
        "process",
        "Buffer",
      ],
    },
  },
  {
    files: ["**/*.cjs"],
    languageOptions: { sourceType: "commonjs", globals: { module: "writable", require: "readonly" } },
  },
  {
    files: ["scripts/**/*.mjs"],
    languageOptions: { globals: { process: "readonly", console: "readonly", URL: "readonly" } },
  },
);
