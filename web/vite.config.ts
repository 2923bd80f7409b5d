import { defineConfig } from "vite";

// Preact through oxc's automatic JSX runtime: no framework plugin needed.
export default defineConfig({
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: { outDir: "dist", sourcemap: false, chunkSizeWarningLimit: 700 },
  server: {
    // `npm run dev` proxies config.json and the API stage to a running twin (make run).
    proxy: { "/api": "http://127.0.0.1:8080", "/config.json": "http://127.0.0.1:8080" },
  },
  test: { include: ["test/**/*.test.ts"], environment: "node" },
} as any);
