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
    const update = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener("hashchange", update);
    return () => window.removeEventListener("hashchange", update);
  }, []);
  return route;
}

export function navigate(href) {
  window.location.hash = href;
}
