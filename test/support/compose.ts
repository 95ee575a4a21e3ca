import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { packageRoot } from "../../core/paths.js";

/** The parts of a Compose file the tests read. */
export interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[];
  profiles?: string[];
  environment?: Record<string, string | number | boolean | null>;
  healthcheck?: { test: string[] | string };
  depends_on?: Record<string, { condition: string }>;
  ports?: string[];
  volumes?: string[];
}
export interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

/** A Compose file of the repository, YAML anchors and merge keys (`<<:`) resolved. */
export function readCompose(name = "docker-compose.yml"): ComposeFile {
  return parse(readFileSync(join(packageRoot(), name), "utf8"), { merge: true }) as ComposeFile;
}

/** The services of one profile. */
export function profileServices(compose: ComposeFile, profile: string): Record<string, ComposeService> {
  return Object.fromEntries(
    Object.entries(compose.services).filter(([, s]) => s.profiles?.includes(profile)),
  );
}

/**
 * A service's environment with Compose interpolation applied as `docker compose` would:
 * ${NAME}, ${NAME:-default}, ${NAME-default}, with `vars` standing in for the shell's environment.
 */
export function serviceEnv(
  service: ComposeService,
  vars: Record<string, string> = {},
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, raw] of Object.entries(service.environment ?? {})) {
    out[key] = String(raw ?? "").replace(
      /\$\{(\w+)(?:(:?-)([^}]*))?\}/g,
      (_, name: string, op: string | undefined, fallback: string | undefined) => {
        const value = vars[name];
        if (op === ":-") return value ? value : (fallback ?? "");
        if (op === "-") return value ?? fallback ?? "";
        return value ?? "";
      },
    );
  }
  return out;
}
