// A tiny server-side SVG line chart: panels side by side, each with a categorical
// x axis (the concurrency levels), a log-scale y axis (flat and HNSW differ by two
// orders of magnitude), one line per series, point labels, an optional dashed
// reference line, and one legend for all panels. No browser, no dependency.

export interface Series {
  name: string;
  color: string;
  dash?: string;
  /** Point labels go under the points (for a series that runs close to another). */
  labelsBelow?: boolean;
  /** y per x category; null or non-finite leaves a gap. */
  values: (number | null)[];
}

export interface Reference {
  label: string;
  value: number;
  color: string;
}

export interface Panel {
  title: string;
  yLabel: string;
  series: Series[];
  references?: Reference[];
  /** Formats a value for tick and point labels. */
  format?: (v: number) => string;
}

export interface Chart {
  title: string;
  subtitle?: string;
  xLabel: string;
  categories: string[];
  panels: Panel[];
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function compact(v: number): string {
  if (!Number.isFinite(v)) return '-';
  const a = Math.abs(v);
  if (a >= 1e6) return `${+(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e3) return `${+(v / 1e3).toPrecision(3)}k`;
  if (a >= 10) return `${Math.round(v)}`;
  if (a >= 1) return `${+v.toPrecision(2)}`;
  return `${+v.toPrecision(2)}`;
}

/** 1-2-5 ticks across [lo, hi] on a log scale (only powers of ten when the range is wide). */
function logTicks(lo: number, hi: number): number[] {
  const decades = Math.log10(hi / lo);
  const steps = decades > 4 ? [1] : decades > 2 ? [1, 3] : [1, 2, 5];
  const ticks: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const s of steps) {
      const t = s * 10 ** e;
      if (t >= lo * 0.999 && t <= hi * 1.001) ticks.push(t);
    }
  }
  return ticks;
}

export function renderChart(chart: Chart): string {
  const panelW = 540;
  const panelH = 380;
  const margin = { left: 70, right: 24, top: 74, bottom: 56 };
  const allSeries = chart.panels.flatMap((p) => p.series);
  const legendNames = [...new Map(allSeries.map((s) => [s.name, s])).values()];
  const legendRows = Math.ceil(legendNames.length / 4);
  const legendH = 22 * legendRows + 16;
  const width = chart.panels.length * (panelW + margin.left + margin.right);
  const height = margin.top + panelH + margin.bottom + legendH;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="24" text-anchor="middle" font-size="17" font-weight="bold">${esc(chart.title)}</text>`,
  );
  if (chart.subtitle) out.push(`<text x="${width / 2}" y="44" text-anchor="middle" fill="#555">${esc(chart.subtitle)}</text>`);

  chart.panels.forEach((panel, pi) => {
    const x0 = pi * (panelW + margin.left + margin.right) + margin.left;
    const y0 = margin.top;
    const fmt = panel.format ?? compact;
    const values = [...panel.series.flatMap((s) => s.values), ...(panel.references ?? []).map((r) => r.value)].filter(
      (v): v is number => v !== null && Number.isFinite(v) && v > 0,
    );
    let lo = values.length ? Math.min(...values) : 1;
    let hi = values.length ? Math.max(...values) : 10;
    // Pad to the surrounding 1-2-5 values so lines do not touch the frame.
    lo = 10 ** (Math.floor(Math.log10(lo) * 4) / 4 - 0.05);
    hi = 10 ** (Math.ceil(Math.log10(hi) * 4) / 4 + 0.15);
    if (hi / lo < 10) {
      const mid = Math.sqrt(hi * lo);
      lo = mid / Math.sqrt(10);
      hi = mid * Math.sqrt(10);
    }
    const y = (v: number): number => y0 + panelH - ((Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * panelH;
    const n = chart.categories.length;
    const x = (i: number): number => x0 + ((i + 0.5) / n) * panelW;

    out.push(`<text x="${x0 + panelW / 2}" y="${y0 - 12}" text-anchor="middle" font-size="14" font-weight="bold">${esc(panel.title)}</text>`);
    out.push(`<rect x="${x0}" y="${y0}" width="${panelW}" height="${panelH}" fill="#fcfcfc" stroke="#999"/>`);
    for (const t of logTicks(lo, hi)) {
      const ty = y(t);
      out.push(`<line x1="${x0}" x2="${x0 + panelW}" y1="${ty.toFixed(1)}" y2="${ty.toFixed(1)}" stroke="#e3e3e3"/>`);
      out.push(`<text x="${x0 - 6}" y="${(ty + 4).toFixed(1)}" text-anchor="end" fill="#333">${esc(fmt(t))}</text>`);
    }
    chart.categories.forEach((c, i) => {
      out.push(`<line x1="${x(i).toFixed(1)}" x2="${x(i).toFixed(1)}" y1="${y0 + panelH}" y2="${y0 + panelH + 5}" stroke="#999"/>`);
      out.push(`<text x="${x(i).toFixed(1)}" y="${y0 + panelH + 19}" text-anchor="middle">${esc(c)}</text>`);
    });
    out.push(`<text x="${x0 + panelW / 2}" y="${y0 + panelH + 40}" text-anchor="middle" fill="#333">${esc(chart.xLabel)}</text>`);
    out.push(
      `<text transform="translate(${x0 - 52},${y0 + panelH / 2}) rotate(-90)" text-anchor="middle" fill="#333">${esc(panel.yLabel)} (log scale)</text>`,
    );
    for (const r of panel.references ?? []) {
      if (!(r.value > 0)) continue;
      const ry = y(r.value).toFixed(1);
      out.push(`<line x1="${x0}" x2="${x0 + panelW}" y1="${ry}" y2="${ry}" stroke="${r.color}" stroke-width="1.5" stroke-dasharray="2,4"/>`);
      out.push(`<text x="${x0 + 6}" y="${(+ry - 5).toFixed(1)}" fill="${r.color}" font-size="11" stroke="white" stroke-width="3" paint-order="stroke">${esc(`${r.label}: ${fmt(r.value)}`)}</text>`);
    }
    for (const s of panel.series) {
      const pts = s.values.map((v, i) => (v !== null && Number.isFinite(v) && v > 0 ? [x(i), y(v), v] : null));
      // Consecutive points make one polyline; a gap starts a new one.
      let run: string[] = [];
      const flush = (): void => {
        if (run.length > 1) {
          out.push(`<polyline points="${run.join(' ')}" fill="none" stroke="${s.color}" stroke-width="2.2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`);
        }
        run = [];
      };
      for (const p of pts) {
        if (p) run.push(`${p[0].toFixed(1)},${p[1].toFixed(1)}`);
        else flush();
      }
      flush();
      for (const p of pts) {
        if (!p) continue;
        out.push(`<circle cx="${p[0].toFixed(1)}" cy="${p[1].toFixed(1)}" r="3.5" fill="${s.color}"/>`);
        const ly = s.labelsBelow ? p[1] + 15 : p[1] - 7;
        out.push(`<text x="${(p[0] + 6).toFixed(1)}" y="${ly.toFixed(1)}" font-size="10" fill="${s.color}" stroke="white" stroke-width="3" paint-order="stroke">${esc(fmt(p[2]))}</text>`);
      }
    }
  });

  // Legend, centred under the panels.
  const itemW = 250;
  const perRow = Math.min(4, legendNames.length);
  const ly = margin.top + panelH + margin.bottom + 12;
  legendNames.forEach((s, i) => {
    const row = Math.floor(i / perRow);
    const col = i % perRow;
    const lx = width / 2 - (perRow * itemW) / 2 + col * itemW;
    const yy = ly + row * 22;
    out.push(`<line x1="${lx}" x2="${lx + 34}" y1="${yy}" y2="${yy}" stroke="${s.color}" stroke-width="2.5"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`);
    out.push(`<circle cx="${lx + 17}" cy="${yy}" r="3.5" fill="${s.color}"/>`);
    out.push(`<text x="${lx + 42}" y="${yy + 4}">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
