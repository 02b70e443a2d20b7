// The vendored browser builds (../vendor/VENDORED.md), loaded as classic scripts before
// this module, re-exported so that the rest of the dashboard imports them like modules.
const { h, render, createContext } = window.preact;

export { h, render, createContext };
export const { useState, useEffect, useMemo, useRef, useCallback, useContext, useLayoutEffect } =
  window.preactHooks;
export const html = window.htm.bind(h);
export const { createClient } = window.graphqlWs;
