// The lines of one deployment's log as received: in seq order, each once, at most
// MAX_LINES kept (the oldest are dropped first, and counted).
export const MAX_LINES = 100_000;

export class LogStore {
  constructor(limit = MAX_LINES) {
    this.limit = limit;
    this.lines = [];
    this.lastSeq = 0;
    this.dropped = 0;
  }

  // Adds a line unless it was already received; false for a repeat.
  add(line) {
    if (line.seq <= this.lastSeq) return false;
    this.lines.push(line);
    this.lastSeq = line.seq;
    return true;
  }

  // Applies the limit (once per batch: removing from the front copies the array).
  trim() {
    const excess = this.lines.length - this.limit;
    if (excess > 0) {
      this.lines.splice(0, excess);
      this.dropped += excess;
    }
  }
}
