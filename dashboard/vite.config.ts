/// <reference types="vitest/config" />
import { defineConfig } from "vite";

// Dev server only: forward the API and the runtime config to a running stack
// (the API gateway by default). The production build is static files under dist/.
const api = process.env.OPTIONSFLOW_API ?? "http://127.0.0.1:8000";

export default defineConfig({
  base: "/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    chunkSizeWarningLimit: 700,
    rolldownOptions: {
      output: {
        // Chart libraries change rarely: separate chunks cache across releases.
        codeSplitting: {
          groups: [
            { name: "echarts", test: /node_modules[\\/](echarts|zrender|tslib)[\\/]/ },
            { name: "lightweight-charts", test: /node_modules[\\/](lightweight-charts|fancy-canvas)[\\/]/ },
            {
              name: "socket.io",
              test: /node_modules[\\/](socket\.io-client|engine\.io-client|socket\.io-parser|engine\.io-parser|@socket\.io|debug|ms|xmlhttprequest-ssl|ws)[\\/]/,
            },
          ],
        },
      },
    },
  },
  server: {
    proxy: {
      "/api": api,
      "/config.json": api,
    },
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
