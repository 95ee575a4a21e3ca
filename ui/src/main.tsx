import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./app.js";
import { RouterProvider } from "./router.js";
import "./styles.css";

const root = document.getElementById("root");
if (!root) throw new Error("#root missing from index.html");
createRoot(root).render(
  <StrictMode>
    <RouterProvider>
      <App />
    </RouterProvider>
  </StrictMode>,
);
// Marks the first render for the e2e tests and bench:ui (time to first render).
requestAnimationFrame(() => performance.mark("skald:first-render"));
