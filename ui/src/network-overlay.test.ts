import { describe, expect, it } from "vitest";
import { netWidth, overlayEdges } from "./network-overlay.js";

describe("network overlay on the service map", () => {
  const nodes = [
    { id: "service:gateway", name: "gateway", kind: "service" },
    { id: "service:cart", name: "cart", kind: "service" },
    { id: "database:postgresql@cart", name: "cart-db", kind: "database" },
  ];
  const edge = (source: string, destination: string, bytes: number) => ({
    source,
    destination,
    bytes,
    packets: 1,
    flows: 1,
  });

  it("draws traffic between services on the map and counts the rest", () => {
    const { drawn, outside } = overlayEdges(nodes, [
      edge("gateway", "cart", 8000),
      edge("cart", "gateway", 1500),
      edge("unknown", "cart", 700),
      edge("cart", "cart", 10),
      // A database is matched by service name only: flows name instances' services, not peers.
      edge("cart", "cart-db", 50),
    ]);
    expect(drawn.map((e) => [e.from, e.to, e.bytes])).toEqual([
      ["service:gateway", "service:cart", 8000],
      ["service:cart", "service:gateway", 1500],
    ]);
    expect(outside.map((e) => e.source)).toEqual(["unknown", "cart", "cart"]);
  });

  it("widens edges with the log of their bytes", () => {
    expect(netWidth(0, 100)).toBe(1);
    expect(netWidth(100, 100)).toBe(6);
    expect(netWidth(10, 1e9)).toBeGreaterThan(1);
    expect(netWidth(10, 1e9)).toBeLessThan(netWidth(1e6, 1e9));
  });
});
