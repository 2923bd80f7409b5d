import { defineConfig } from "vite";

// Preact through oxc's automatic JSX runtime: no framework plugin needed.
export default defineConfig({
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: { outDir: "dist", sourcemap: false, chunkSizeWarningLimit: 700 },
  server: {
    // `npm run dev` proxies the API to the twin (or the mock server) on :8080.
    proxy: { "/api": "http://127.0.0.1:8080", "/config.json": "http://127.0.0.1:8080" },
  },
  test: { include: ["test/**/*.test.ts"], environment: "node" },
} as any);
