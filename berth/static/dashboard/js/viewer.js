// The signed-in credential (viewer) for every page: what it may do decides which buttons exist.
import { createContext, useContext } from "./lib.js";

export const ViewerContext = createContext(null);

export function useViewer() {
  return useContext(ViewerContext);
}

export function useCan(scope) {
  const viewer = useViewer();
  return Boolean(viewer?.scopes?.includes(scope));
}
