// Progress of a long transfer: a bar redrawn in place (rate, ETA) on a terminal,
// plain lines elsewhere (a log, a pipe): at most one a second, and at each tenth
// of the way, and the last.

export type ProgressMode = 'bar' | 'lines' | 'none';

export interface Progress {
  /** `done` of `total` units (undefined total: unknown), `items` moved so far. */
  update(done: number, items: number): void;
  finish(items: number): void;
}

const rateText = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1));

function etaText(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * `label`: what moves ("import vectors.npy"); `total` and `done` in any unit (bytes,
 * rows) that grows evenly; `unit`: what `items` counts (vectors, points).
 */
export function progress(mode: ProgressMode, label: string, total: number, unit: string, out: NodeJS.WritableStream = process.stdout, now = () => Date.now()): Progress {
  const started = now();
  let lastLine = started;
  let lastTenth = 0;
  const line = (done: number, items: number) => {
    const seconds = (now() - started) / 1000;
    const rate = seconds > 0 ? items / seconds : 0;
    const fraction = total > 0 ? Math.min(1, done / total) : 1;
    const eta = fraction > 0 ? (seconds / fraction) * (1 - fraction) : Infinity;
    return { fraction, text: `${items.toLocaleString('en-US')} ${unit}, ${rateText(rate)} ${unit}/s, ETA ${etaText(eta)}` };
  };
  return {
    update(done, items) {
      const { fraction, text } = line(done, items);
      if (mode === 'bar') {
        const width = 30;
        const filled = Math.round(fraction * width);
        out.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ${text}\x1b[K`);
      } else if (mode === 'lines') {
        const tenth = Math.floor(fraction * 10);
        if (now() - lastLine < 1000 && tenth === lastTenth) return;
        lastLine = now();
        lastTenth = tenth;
        out.write(`${label}: ${(fraction * 100).toFixed(1)}% ${text}\n`);
      }
    },
    finish(items) {
      const { text } = line(total, items);
      if (mode === 'bar') out.write(`\r${label} [${'#'.repeat(30)}] 100% ${text}\x1b[K\n`);
      else if (mode === 'lines') out.write(`${label}: 100.0% ${text}\n`);
    },
  };
}

/** `auto`: a bar when stdout is a terminal, lines when not. */
export function progressMode(given: string, stdout: { isTTY?: boolean } = process.stdout): ProgressMode {
  if (given === 'auto') return stdout.isTTY ? 'bar' : 'lines';
  return given as ProgressMode;
}
