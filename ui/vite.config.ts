import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

/** Builds the dashboard into ui/dist, which the query server serves at `/`. */
export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "/",
  plugins: [react()],
  logLevel: "warn",
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false, target: "es2022" },
  worker: { format: "es" },
});
