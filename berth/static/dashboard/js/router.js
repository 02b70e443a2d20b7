// Pages by the URL's fragment (#/deployments/ID …): ids and filters only, never a credential.
import { useEffect, useState } from "./lib.js";

export const links = {
  deployments: () => "#/deployments",
  deployment: (id) => `#/deployments/${encodeURIComponent(id)}`,
  services: () => "#/services",
  service: (id) => `#/services/${encodeURIComponent(id)}`,
  servers: () => "#/servers",
};

export function parseRoute(hash) {
  const [page = "deployments", id = null] = hash.replace(/^#\/?/, "").split("/").filter(Boolean);
  const known = ["deployments", "services", "servers"].includes(page);
  return { page: known ? page : "deployments", id: id === null ? null : decodeURIComponent(id) };
}

export function useRoute() {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const update = () =>
      setRoute((current) => {
        const next = parseRoute(window.location.hash);
        return next.page === current.page && next.id === current.id ? current : next;
      });
    window.addEventListener("hashchange", update);
    // Effects run after the first paint: a fragment that changed in between sent its
    // hashchange before anyone listened. Read it once more now that we listen.
    update();
    return () => window.removeEventListener("hashchange", update);
  }, []);
  return route;
}

export function navigate(href) {
  window.location.hash = href;
}
