/**
 * The admin page's charts, drawn in the browser as inline SVG from the series ring (`/api/series`):
 * backfilled from the page itself on load, extended by polling. Plain ES2020 text, no dependencies.
 * The time axis spans the history held (at least a minute, at most 15), shared by every chart.
 */
export const CHARTS_SCRIPT = String.raw`
const SVG_NS = 'http://www.w3.org/2000/svg';
const WINDOW_MS = 15 * 60 * 1000;
const TIER_COLORS = { critical: '#d6409f', high: '#f76b15', medium: '#3e63dd', low: '#12a594' };
const LEVEL_COLORS = { normal: '#c4e8d1', elevated: '#ffc53d', critical: '#e5484d' };
const BOX = { w: 600, h: 176, l: 50, r: 10, t: 16, b: 20 };
function svgEl(tag, attrs, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}
function addSeries(view) {
  const last = state.series.length ? state.series[state.series.length - 1].t : -Infinity;
  for (const point of view.points) if (point.t > last) state.series.push(point);
  const end = state.series.length ? state.series[state.series.length - 1].t : Date.now();
  while (state.series.length && state.series[0].t < end - WINDOW_MS) state.series.shift();
  const seen = new Set(state.decisions.map((d) => d.at + d.action));
  for (const d of view.decisions) if (!seen.has(d.at + d.action)) state.decisions.push(d);
  state.decisions = state.decisions.filter((d) => d.at >= end - WINDOW_MS).sort((a, b) => a.at - b.at);
}
function timeDomain() {
  const points = state.series;
  if (points.length === 0) return null;
  const end = points[points.length - 1].t;
  return [Math.min(points[0].t, end - 60000), end];
}
function niceMax(value) {
  if (!(value > 0)) return 1;
  const step = Math.pow(10, Math.floor(Math.log10(value)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * step >= value) return m * step;
  return 10 * step;
}
function shortNumber(v) {
  if (v >= 1e6) return (v / 1e6).toFixed(v >= 1e7 ? 0 : 1) + 'M';
  if (v >= 1e3) return (v / 1e3).toFixed(v >= 1e4 ? 0 : 1) + 'k';
  return String(Math.round(v * 100) / 100);
}
function timeTicks(domain) {
  const span = domain[1] - domain[0];
  const step = [10e3, 30e3, 60e3, 120e3, 300e3].find((s) => span / s <= 6) || 300e3;
  const ticks = [];
  for (let t = Math.ceil(domain[0] / step) * step; t <= domain[1]; t += step) ticks.push(t);
  return ticks;
}
function hhmmss(t) { return new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' }); }
// A chart: lines (and areas) over the shared time axis; log: a log10 y axis (waits span decades).
function drawChart(figureId, spec) {
  const figure = $(figureId);
  const svg = figure.querySelector('svg');
  const domain = timeDomain();
  const points = state.series;
  const h = spec.height || BOX.h;
  const W = spec.width || BOX.w;
  svg.setAttribute('viewBox', '0 0 ' + W + ' ' + h);
  svg.replaceChildren();
  svg.dataset.points = String(points.length);
  figure.querySelector('.legend').replaceChildren(...spec.lines.map((line) => el('span', {}, el('i', { class: line.dash ? 'dash' : '', 'data-color': line.color }), line.name)));
  for (const i of figure.querySelectorAll('.legend i')) { i.style.background = i.dataset.color; i.style.borderColor = i.dataset.color; }
  if (!domain) {
    svg.append(svgEl('text', { x: W / 2, y: h / 2, 'text-anchor': 'middle', class: 'empty-chart' }, 'collecting the first second…'));
    return;
  }
  const plotH = h - BOX.t - BOX.b;
  const x = (t) => BOX.l + ((t - domain[0]) / (domain[1] - domain[0] || 1)) * (W - BOX.l - BOX.r);
  let values = [];
  for (const line of spec.lines) for (const p of points) { const v = line.value(p); if (v !== null && v !== undefined) values.push(v); }
  let y, yTicks;
  if (spec.log) {
    const positive = values.filter((v) => v > 0);
    const lo = Math.pow(10, Math.floor(Math.log10(Math.max(0.01, Math.min(...positive, 1)))));
    const hi = Math.pow(10, Math.ceil(Math.log10(Math.max(lo * 10, ...positive))));
    y = (v) => BOX.t + plotH - ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * plotH;
    yTicks = [];
    for (let v = lo; v <= hi * 1.001; v *= 10) yTicks.push(v);
  } else {
    const max = niceMax(Math.max(spec.minMax || 0, ...values));
    y = (v) => BOX.t + plotH - (v / max) * plotH;
    yTicks = [0, max / 4, max / 2, (3 * max) / 4, max];
  }
  const grid = svgEl('g', { class: 'grid' });
  const axis = svgEl('g', { class: 'axis' });
  for (const v of yTicks) {
    grid.append(svgEl('line', { x1: BOX.l, x2: W - BOX.r, y1: y(v), y2: y(v) }));
    axis.append(svgEl('text', { x: BOX.l - 6, y: y(v) + 3, 'text-anchor': 'end' }, spec.format(v)));
  }
  for (const t of timeTicks(domain)) {
    grid.append(svgEl('line', { x1: x(t), x2: x(t), y1: BOX.t, y2: BOX.t + plotH }));
    axis.append(svgEl('text', { x: x(t), y: h - 5, 'text-anchor': 'middle' }, hhmmss(t)));
  }
  svg.append(grid, axis);
  levelBand(svg, x, BOX.t, plotH, W);
  for (const line of spec.lines) {
    let d = '';
    let open = false;
    let area = '';
    let first = null;
    let lastX = null;
    for (const p of points) {
      const v = line.value(p);
      if (v === null || v === undefined) { open = false; continue; }
      const px = x(p.t).toFixed(1);
      const py = y(v).toFixed(1);
      d += (open ? 'L' : 'M') + px + ' ' + py;
      if (line.area) { if (first === null) first = px; area += (area ? 'L' : 'M') + px + ' ' + py; lastX = px; }
      open = true;
    }
    if (line.area && area) svg.append(svgEl('path', { d: area + 'L' + lastX + ' ' + y(0) + 'L' + first + ' ' + y(0) + 'Z', fill: line.color, 'fill-opacity': 0.14, stroke: 'none' }));
    svg.append(svgEl('path', { d: d || 'M0 0', fill: 'none', stroke: line.color, 'stroke-width': line.width || 1.6, 'stroke-dasharray': line.dash ? '4 3' : 'none', 'stroke-linejoin': 'round', 'data-series': line.name }));
    // The latest value as a dot: "now", and visible while a line has a single point.
    const latest = d.match(/([\d.]+) ([\d.]+)$/);
    if (latest) svg.append(svgEl('circle', { cx: latest[1], cy: latest[2], r: 2.4, fill: line.dash ? '#fff' : line.color, stroke: line.color, 'stroke-width': 1.2 }));
  }
  hoverable(figure, svg, spec, x, domain, h, W);
}
function hoverable(figure, svg, spec, x, domain, h, W) {
  const guide = svgEl('g', { class: 'hover', visibility: 'hidden' }, svgEl('line', { x1: 0, x2: 0, y1: BOX.t, y2: h - BOX.b }));
  svg.append(guide);
  let tip = figure.querySelector('.tip');
  if (!tip) { tip = el('div', { class: 'tip', hidden: '' }); figure.append(tip); }
  svg.onmouseleave = () => { guide.setAttribute('visibility', 'hidden'); tip.hidden = true; };
  svg.onmousemove = (event) => {
    const box = svg.getBoundingClientRect();
    const vx = ((event.clientX - box.left) / box.width) * W;
    const t = domain[0] + ((vx - BOX.l) / (W - BOX.l - BOX.r)) * (domain[1] - domain[0]);
    let best = null;
    for (const p of state.series) if (!best || Math.abs(p.t - t) < Math.abs(best.t - t)) best = p;
    if (!best) return;
    guide.setAttribute('visibility', 'visible');
    guide.firstChild.setAttribute('x1', x(best.t));
    guide.firstChild.setAttribute('x2', x(best.t));
    const lines = spec.lines.map((line) => { const v = line.value(best); return line.name + ': ' + (v === null || v === undefined ? '—' : spec.format(v)); });
    lines.push('load ' + best.level);
    tip.replaceChildren(el('b', {}, hhmmss(best.t)), ...lines.map((l) => el('div', {}, l)));
    tip.hidden = false;
    tip.style.left = Math.min(box.width - 160, Math.max(0, (x(best.t) / W) * box.width + 12)) + 'px';
    tip.style.top = '1.4rem';
  };
}
// The load level as a strip above every chart's plot, on its time axis; each coordinator decision a
// mark on the strip with a faint line down the plot (hover the mark for what and why).
function levelBand(svg, x, top, height, W) {
  const points = state.series;
  const stripTop = top - 11;
  const band = svgEl('g', { class: 'level-band' });
  for (let i = 0; i < points.length; i++) {
    let j = i;
    while (j + 1 < points.length && points[j + 1].level === points[i].level) j++;
    const x1 = Math.max(BOX.l, x(points[i].t - 500)), x2 = Math.min(W - BOX.r, x(points[j].t + 500));
    band.append(svgEl('rect', { x: x1, y: stripTop, width: Math.max(1, x2 - x1), height: 7, rx: 1.5, fill: LEVEL_COLORS[points[i].level] || '#ccc', 'data-level': points[i].level },
      svgEl('title', {}, 'load ' + points[i].level + ' from ' + hhmmss(points[i].t))));
    i = j;
  }
  for (const d of state.decisions) {
    const dx = x(d.at);
    if (dx < BOX.l) continue;
    band.append(svgEl('g', { class: 'decision', 'data-action': d.action },
      svgEl('line', { x1: dx, x2: dx, y1: stripTop, y2: top + height, stroke: '#15181e', 'stroke-opacity': 0.25, 'stroke-dasharray': '2 3' }),
      svgEl('path', { d: 'M' + (dx - 4) + ' ' + (stripTop - 2) + 'L' + (dx + 4) + ' ' + (stripTop - 2) + 'L' + dx + ' ' + (stripTop + 6) + 'Z', fill: '#15181e' }),
      svgEl('title', {}, hhmmss(d.at) + ' ' + d.action + ' → ' + d.level + ': ' + d.reason)));
  }
  svg.append(band);
}
// The tiles' sparklines: the last two minutes of their figure, scaled to its own range.
const SPARKS = {
  'kpi-completed': { color: '#30a46c', value: (p) => p.completed },
  'kpi-failed': { color: '#e5484d', value: (p) => p.failed },
  'kpi-queued': { color: '#3e63dd', value: (p) => TIERS.reduce((n, t) => n + p.depth[t], 0) },
  'kpi-running': { color: '#46a758', value: (p) => p.running },
  'kpi-wait': { color: '#f76b15', value: (p) => p.waitP99.high },
};
function drawSparks() {
  const points = state.series.slice(-120);
  for (const [id, spark] of Object.entries(SPARKS)) {
    const svg = document.querySelector('#' + id + ' svg.spark');
    if (!svg) continue;
    const values = points.map(spark.value);
    const known = values.filter((v) => v !== null && v !== undefined);
    svg.replaceChildren();
    if (known.length < 2) continue;
    const max = Math.max(...known) || 1;
    const x = (i) => (i / Math.max(1, points.length - 1)) * 120;
    const y = (v) => 24 - (v / max) * 22;
    let d = '';
    values.forEach((v, i) => { if (v !== null && v !== undefined) d += (d ? 'L' : 'M') + x(i).toFixed(1) + ' ' + y(v).toFixed(1); });
    svg.append(svgEl('path', { d: d + 'L120 26L0 26Z', fill: spark.color, 'fill-opacity': 0.1, stroke: 'none' }),
      svgEl('path', { d, fill: 'none', stroke: spark.color, 'stroke-width': 1.4, 'vector-effect': 'non-scaling-stroke' }));
  }
}
function drawCharts() {
  drawSparks();
  const wait = (tier, q) => (p) => p[q][tier];
  drawChart('chart-wait', { log: true, format: (v) => ms(v), lines: TIERS.flatMap((tier) => [
    { name: tier + ' p50', color: TIER_COLORS[tier], value: wait(tier, 'waitP50') },
    { name: tier + ' p99', color: TIER_COLORS[tier], dash: true, width: 1.2, value: wait(tier, 'waitP99') }]) });
  drawChart('chart-rate', { format: shortNumber, minMax: 1, lines: [
    { name: 'completed/s', color: '#30a46c', area: true, value: (p) => p.completed },
    { name: 'failed/s', color: '#e5484d', width: 2, value: (p) => p.failed },
    { name: 'retried/s', color: '#f76b15', dash: true, value: (p) => p.retried }] });
  drawChart('chart-depth', { format: shortNumber, minMax: 1, lines: TIERS.map((tier) => ({ name: tier, color: TIER_COLORS[tier], value: (p) => p.depth[tier] })) });
  drawChart('chart-pool', { format: shortNumber, minMax: 1, lines: [
    { name: 'busy', color: '#46a758', area: true, value: (p) => p.busy },
    { name: 'size', color: '#15181e', dash: true, value: (p) => p.size }] });
  const legend = $('level-legend');
  legend.replaceChildren(el('span', {}, 'load level strip:'), ...Object.keys(LEVEL_COLORS).map((level) => el('span', {}, el('i', { 'data-color': LEVEL_COLORS[level] }), level)), el('span', {}, '▼ coordinator decision (hover for why)'));
  for (const i of legend.querySelectorAll('i')) i.style.background = i.dataset.color;
  $('charts-span').textContent = Math.round(state.series.length) + ' s of history, one point a second';
}
`;
