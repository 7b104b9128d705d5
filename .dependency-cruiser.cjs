// Import rules checked by `npm run lint` (scripts/check-imports.mjs): the data flow
// app -> server -> render-core -> shaders, with protocol/ between app and server.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-circular",
      comment: "A file may not reach itself through its imports (type-only imports included).",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    {
      name: "app-imports-only-types-from-server",
      comment: "The browser bundle may not pull server code in: shared values live in protocol/.",
      severity: "error",
      from: { path: "^app/" },
      to: { path: "^server/", dependencyTypesNot: ["type-only"] },
    },
    {
      name: "render-core-stays-below",
      comment:
        "render-core runs in browsers and in Node; it knows nothing of the app, the server or the protocol (its tests may borrow the server's Node GPU helper).",
      severity: "error",
      from: { path: "^render-core/", pathNot: "\\.test\\.ts$" },
      to: { path: "^(app|server|protocol)/" },
    },
    {
      name: "protocol-between-app-and-server",
      comment: "protocol/ is shared by app and server; it may use render-core, never either side.",
      severity: "error",
      from: { path: "^protocol/" },
      to: { path: "^(app|server)/" },
    },
    {
      name: "server-not-app",
      comment: "The server never imports the front end.",
      severity: "error",
      from: { path: "^server/" },
      to: { path: "^app/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "(^|/)(node_modules|\\.next|server/db/generated)/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { extensions: [".ts", ".tsx", ".js", ".mjs"] },
  },
};
