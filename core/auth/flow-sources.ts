import { BlockList, isIP } from "node:net";
import { configError } from "../errors.js";

/**
 * NetFlow and IPFIX carry no credentials, so with authentication on only exporters whose source
 * address is in `auth.flowSources` are heard, and each CIDR fixes the tenant of its flows. Returns
 * the tenant of a source address, or undefined for a stranger (whose packets are dropped).
 */
export function flowSourceTenants(
  entries: ReadonlyArray<{ cidr: string; tenant: string }>,
): (address: string) => string | undefined {
  const lists = entries.map(({ cidr, tenant }) => {
    const [net, bitsText] = cidr.split("/");
    const family = isIP(net);
    const bits = bitsText === undefined ? (family === 6 ? 128 : 32) : Number(bitsText);
    const max = family === 6 ? 128 : 32;
    if (family === 0 || !Number.isInteger(bits) || bits < 0 || bits > max) {
      throw configError(`auth.flowSources: "${cidr}" is not a CIDR such as 10.0.0.0/8 or 2001:db8::/32`);
    }
    const list = new BlockList();
    list.addSubnet(net, bits, family === 6 ? "ipv6" : "ipv4");
    return { list, tenant };
  });
  return (address) => {
    // IPv4 exporters reaching a dual-stack socket show up as ::ffff:a.b.c.d.
    const addr = address.startsWith("::ffff:") && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
    const type = isIP(addr) === 6 ? "ipv6" : "ipv4";
    for (const { list, tenant } of lists) if (list.check(addr, type)) return tenant;
    return undefined;
  };
}
