import { defineConfig } from "vitest/config";

// The API serves dist/ at "/" (with an SPA fallback), so absolute asset URLs are safe.
// In `npm run dev` the API and Socket.IO run on the backend port; proxy both.
const backend = "http://127.0.0.1:8000";

export default defineConfig({
  base: "/",
  build: {
    outDir: "dist",
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
