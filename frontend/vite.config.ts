import { defineConfig } from "vitest/config";

// The build goes into the Python package (app/static), so the wheel ships the dashboard;
// the API serves it at "/" (hash routing, no fallback needed), so absolute asset URLs are safe.
// In `npm run dev` the API and Socket.IO run on the backend port; proxy both.
const backend = "http://127.0.0.1:8000";

export default defineConfig({
  base: "/",
  build: {
    outDir: "../app/static",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    chunkSizeWarningLimit: 200,
  },
  server: {
    proxy: {
      "/v1": backend,
      "/docs": backend,
      "/openapi.json": backend,
      "/socket.io": { target: backend, ws: true },
    },
  },
  test: {
    environment: "node",
    include: ["src/**/*.test.ts"],
  },
});
