// Loading a query into a page: {data, errors, loading, reload}. A newer load wins over an
// older one still in flight, so quick filter changes never show stale rows.
import { graphql } from "./api.js";
import { errorsOf } from "./errors.js";
import { useCallback, useEffect, useRef, useState } from "./lib.js";

export function useQuery(query, variables) {
  const [state, setState] = useState({ data: null, errors: [], loading: true });
  const generation = useRef(0);
  const key = JSON.stringify(variables ?? {});

  const reload = useCallback(async () => {
    const mine = ++generation.current;
    try {
      const { data, errors } = await graphql(query, JSON.parse(key));
      if (mine === generation.current) setState({ data, errors, loading: false });
    } catch (problem) {
      if (mine === generation.current) setState((old) => ({ ...old, errors: errorsOf(problem), loading: false }));
    }
  }, [query, key]);

  useEffect(() => {
    reload();
  }, [reload]);
  return { ...state, reload };
}

// Calls `action` at most once per `ms` (the last call wins), for refetches on live events.
export function useThrottled(action, ms = 300) {
  const timer = useRef(null);
  const latest = useRef(action);
  latest.current = action;
  useEffect(() => () => clearTimeout(timer.current), []);
  return useCallback(() => {
    if (timer.current !== null) return;
    timer.current = setTimeout(() => {
      timer.current = null;
      latest.current();
    }, ms);
  }, [ms]);
}

// Reads again every `ms` while the page shows: the API has no subscription for observations
// (drift), so pages that show them look again now and then.
export const OBSERVATION_POLL_MS = 10_000;

export function useEvery(action, ms = OBSERVATION_POLL_MS) {
  const latest = useRef(action);
  latest.current = action;
  useEffect(() => {
    const timer = setInterval(() => latest.current(), ms);
    return () => clearInterval(timer);
  }, [ms]);
}
