// A virtualised list of fixed-height rows: only the rows in view (and a margin) are in the
// DOM, whatever the number of lines. Following keeps the newest line in view.
import { html, useEffect, useLayoutEffect, useRef, useState } from "./lib.js";

export const ROW_HEIGHT = 20; // px; .log-row in dashboard.css has the same height
const MARGIN_ROWS = 20;

export function VirtualList({ items, renderRow, follow, onScrolledAway, label }) {
  const viewport = useRef(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(400);

  useEffect(() => {
    const element = viewport.current;
    const observer = new ResizeObserver(() => setHeight(element.clientHeight || 400));
    observer.observe(element);
    return () => observer.disconnect();
  }, []);

  useLayoutEffect(() => {
    const element = viewport.current;
    if (follow && element) {
      element.scrollTop = element.scrollHeight;
      setScrollTop(element.scrollTop);
    }
  }, [items, follow]);

  const onScroll = (event) => {
    const element = event.currentTarget;
    setScrollTop(element.scrollTop);
    const atBottom = element.scrollHeight - element.scrollTop - element.clientHeight < ROW_HEIGHT;
    if (follow && !atBottom) onScrolledAway();
  };

  const first = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - MARGIN_ROWS);
  const count = Math.ceil(height / ROW_HEIGHT) + 2 * MARGIN_ROWS;
  const visible = items.slice(first, first + count);
  return html`<div class="log-viewport" ref=${viewport} onScroll=${onScroll} tabindex="0" role="log" aria-label=${label}>
    <div class="log-spacer" style=${{ height: `${items.length * ROW_HEIGHT}px` }}>
      <div class="log-window" style=${{ transform: `translateY(${first * ROW_HEIGHT}px)` }}>
        ${visible.map(renderRow)}
      </div>
    </div>
  </div>`;
}
