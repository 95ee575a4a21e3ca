/// <reference lib="webworker" />
import { type LayoutInput, layeredLayout } from "./map-layout.js";

/** Lays out the service map off the main thread: a message in, a LayoutResult (with its id) out. */
self.onmessage = (e: MessageEvent<{ id: number; input: LayoutInput }>) => {
  const { id, input } = e.data;
  self.postMessage({ id, result: layeredLayout(input) });
};
