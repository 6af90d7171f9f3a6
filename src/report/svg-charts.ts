import { escapeHtml } from './html-escape.js';

/** Inline SVG charts for the HTML report: no scripts, no external assets, readable when printed. */

export interface Bar {
  label: string;
  /** 0..1 */
  fraction: number;
  /** Shown above the bar, e.g. "61.2% (301/492)". */
  caption: string;
}

export interface CountBar {
  label: string;
  count: number;
  /** Fill colour; blue by default. */
  colour?: string;
}

/** One group of bars, one per series (e.g. "pass@10": run A, run B). */
export interface BarGroup {
  label: string;
  /** 0..1, one per series. */
  fractions: number[];
}

export interface HistogramBin {
  from: number;
  to: number;
  count: number;
}

const WIDTH = 640;
const HEIGHT = 260;
const MARGIN = { top: 24, right: 16, bottom: 44, left: 48 };
const PLOT_W = WIDTH - MARGIN.left - MARGIN.right;
const PLOT_H = HEIGHT - MARGIN.top - MARGIN.bottom;

/** Bars on a 0-100% axis (pass rate by split). */
export function barChartSvg(bars: readonly Bar[], title: string): string {
  const slot = PLOT_W / Math.max(1, bars.length);
  const barWidth = Math.min(96, slot * 0.6);
  const body = bars.map((bar, i) => {
    const height = PLOT_H * Math.min(1, Math.max(0, bar.fraction));
    const x = MARGIN.left + slot * i + (slot - barWidth) / 2;
    const y = MARGIN.top + PLOT_H - height;
    const centre = x + barWidth / 2;
    return (
      `<rect x="${r(x)}" y="${r(y)}" width="${r(barWidth)}" height="${r(height)}" fill="#3b7dd8"><title>${escapeHtml(`${bar.label}: ${bar.caption}`)}</title></rect>` +
      `<text x="${r(centre)}" y="${r(y - 6)}" text-anchor="middle">${escapeHtml(bar.caption)}</text>` +
      `<text x="${r(centre)}" y="${MARGIN.top + PLOT_H + 18}" text-anchor="middle">${escapeHtml(bar.label)}</text>`
    );
  });
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((t) => yTick(MARGIN.top + PLOT_H * (1 - t), `${t * 100}%`));
  return frame(title, [...ticks, ...body]);
}

/** Labelled bars of counts (tasks by correct samples, tasks by outcome); labels thin out past 30 bars. */
export function countBarsSvg(bars: readonly CountBar[], title: string): string {
  const highest = Math.max(1, ...bars.map((bar) => bar.count));
  const slot = PLOT_W / Math.max(1, bars.length);
  const barWidth = Math.min(96, slot * 0.7);
  const labelEvery = Math.ceil(bars.length / 30);
  const body = bars.map((bar, i) => {
    const height = (PLOT_H * bar.count) / highest;
    const x = MARGIN.left + slot * i + (slot - barWidth) / 2;
    const y = MARGIN.top + PLOT_H - height;
    const centre = x + barWidth / 2;
    const shown = i % labelEvery === 0;
    return (
      `<rect x="${r(x)}" y="${r(y)}" width="${r(barWidth)}" height="${r(height)}" fill="${escapeHtml(bar.colour ?? '#3b7dd8')}"><title>${escapeHtml(`${bar.label}: ${bar.count}`)}</title></rect>` +
      // Counts above the bars only while they fit their slots.
      (bars.length <= 20 ? `<text x="${r(centre)}" y="${r(y - 6)}" text-anchor="middle">${bar.count}</text>` : '') +
      (shown ? `<text x="${r(centre)}" y="${MARGIN.top + PLOT_H + 18}" text-anchor="middle">${escapeHtml(bar.label)}</text>` : '')
    );
  });
  const ticks = [0, 0.5, 1].map((t) => yTick(MARGIN.top + PLOT_H * (1 - t), String(Math.round(highest * t))));
  return frame(title, [...ticks, ...body]);
}

const SERIES_COLOURS = ['#3b7dd8', '#d8813b', '#4a9e5c', '#8e5cc4'];

/** Groups of side-by-side bars on a 0-100% axis, one colour per series, with a legend (run A against run B). */
export function groupedBarsSvg(groups: readonly BarGroup[], series: readonly string[], title: string): string {
  const slot = PLOT_W / Math.max(1, groups.length);
  const barWidth = Math.min(72, (slot * 0.8) / Math.max(1, series.length));
  const body = groups.flatMap((group, g) => {
    const start = MARGIN.left + slot * g + (slot - barWidth * series.length) / 2;
    const bars = series.map((name, s) => {
      const fraction = group.fractions[s] ?? 0;
      const height = PLOT_H * Math.min(1, Math.max(0, fraction));
      const x = start + barWidth * s;
      const y = MARGIN.top + PLOT_H - height;
      const caption = `${(100 * fraction).toFixed(1)}%`;
      return (
        `<rect x="${r(x)}" y="${r(y)}" width="${r(barWidth - 2)}" height="${r(height)}" fill="${SERIES_COLOURS[s % SERIES_COLOURS.length]}"><title>${escapeHtml(`${name}, ${group.label}: ${caption}`)}</title></rect>` +
        `<text x="${r(x + (barWidth - 2) / 2)}" y="${r(y - 6)}" text-anchor="middle">${caption}</text>`
      );
    });
    const label = `<text x="${r(MARGIN.left + slot * g + slot / 2)}" y="${MARGIN.top + PLOT_H + 18}" text-anchor="middle">${escapeHtml(group.label)}</text>`;
    return [...bars, label];
  });
  const legend = series.map((name, s) => {
    const x = MARGIN.left + s * (PLOT_W / series.length);
    const y = HEIGHT - 12;
    return (
      `<rect x="${r(x)}" y="${y - 10}" width="12" height="12" fill="${SERIES_COLOURS[s % SERIES_COLOURS.length]}"/>` +
      `<text x="${r(x + 18)}" y="${y}">${escapeHtml(name)}</text>`
    );
  });
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((t) => yTick(MARGIN.top + PLOT_H * (1 - t), `${t * 100}%`));
  return frame(title, [...ticks, ...body, ...legend]);
}

/** Equal-width bins from the smallest to the largest value; one bin when all values are equal. */
export function histogramBins(values: readonly number[], binCount: number): HistogramBin[] {
  if (values.length === 0) return [];
  const sorted = [...values].sort((a, b) => a - b);
  const min = sorted[0]!;
  const max = sorted[sorted.length - 1]!;
  if (max === min) return [{ from: min, to: max, count: values.length }];
  // One slow outlier (a record that takes seconds among ones that take milliseconds) would squeeze every other
  // record into the first bin: bin up to the 99th percentile and gather the rest in a last, wider bin.
  const p99 = sorted[Math.floor(0.99 * (sorted.length - 1))]!;
  const tail = p99 > min && max - p99 > p99 - min;
  const regular = tail ? binCount - 1 : binCount;
  const upper = tail ? p99 : max;
  const width = (upper - min) / regular;
  const bins = Array.from({ length: regular }, (_, i) => ({ from: min + i * width, to: min + (i + 1) * width, count: 0 }));
  if (tail) bins.push({ from: upper, to: max, count: 0 });
  for (const value of sorted) {
    const index = tail && value > upper ? regular : Math.min(regular - 1, Math.floor((value - min) / width));
    bins[index]!.count++;
  }
  return bins;
}

/** A histogram (time per record); `unit` labels the x axis. */
export function histogramSvg(bins: readonly HistogramBin[], title: string, unit: string): string {
  const highest = Math.max(1, ...bins.map((bin) => bin.count));
  const barWidth = PLOT_W / Math.max(1, bins.length);
  const body = bins.map((bin, i) => {
    const height = (PLOT_H * bin.count) / highest;
    const x = MARGIN.left + i * barWidth;
    const y = MARGIN.top + PLOT_H - height;
    const label = `${bin.from.toFixed(2)}–${bin.to.toFixed(2)} ${unit}: ${bin.count} records`;
    return `<rect x="${r(x + 1)}" y="${r(y)}" width="${r(Math.max(1, barWidth - 2))}" height="${r(height)}" fill="#d8813b"><title>${escapeHtml(label)}</title></rect>`;
  });
  const first = bins[0];
  const last = bins[bins.length - 1];
  const axis =
    first && last
      ? [
          `<text x="${MARGIN.left}" y="${MARGIN.top + PLOT_H + 18}" text-anchor="start">${first.from.toFixed(2)} ${escapeHtml(unit)}</text>`,
          `<text x="${MARGIN.left + PLOT_W}" y="${MARGIN.top + PLOT_H + 18}" text-anchor="end">${last.to.toFixed(2)} ${escapeHtml(unit)}</text>`,
        ]
      : [];
  const ticks = [0, 0.5, 1].map((t) => yTick(MARGIN.top + PLOT_H * (1 - t), String(Math.round(highest * t))));
  return frame(title, [...ticks, ...body, ...axis]);
}

function yTick(y: number, label: string): string {
  return (
    `<line x1="${MARGIN.left}" x2="${MARGIN.left + PLOT_W}" y1="${r(y)}" y2="${r(y)}" stroke="#ddd"/>` +
    `<text x="${MARGIN.left - 6}" y="${r(y + 4)}" text-anchor="end">${escapeHtml(label)}</text>`
  );
}

function frame(title: string, parts: string[]): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" ` +
    `role="img" aria-label="${escapeHtml(title)}" font-family="sans-serif" font-size="12">` +
    `<title>${escapeHtml(title)}</title>${parts.join('')}</svg>`
  );
}

function r(n: number): string {
  return n.toFixed(1);
}
