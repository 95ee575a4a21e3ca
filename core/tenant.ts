import type { OtlpConfig } from "./config/schema.js";
import { invalidInput } from "./errors.js";

/** What a tenant name may be, at every edge and in configuration. */
export const TENANT_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/**
 * The tenant of a request from its tenant header value (HTTP header or gRPC metadata), or the
 * default tenant when absent. One rule for every edge, so a tenant that can write can read.
 */
export function resolveTenant(headerValue: string | string[] | undefined, config: OtlpConfig): string {
  const value = (Array.isArray(headerValue) ? headerValue[0] : headerValue)?.trim();
  if (value === undefined || value === "") return config.defaultTenant;
  if (!TENANT_RE.test(value)) {
    throw invalidInput(
      "TENANT_INVALID",
      `${config.tenantHeader} must be 1-64 characters of letters, digits, '_', '.', '-' and start with a letter or digit`,
    );
  }
  return value;
}
