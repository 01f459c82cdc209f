// iot-mock demo page: a snapshot, then deltas, from /api/v1/stream; history from /api/v1/history.
// Everything shown (states, faults, counts) is the server's; the page only lays it out.
"use strict";

const token = new URLSearchParams(location.search).get("token");
const headers = {"Content-Type": "application/json", ...(token ? {"Authorization": "Bearer " + token} : {})};
const $ = id => document.getElementById(id);
const ROW = 76;                       // px, as --row in style.css
const PALETTE = ["#1f5fbf", "#e08a00", "#2a9d5b", "#7b4fc9", "#00838f", "#c2185b", "#8d6e63", "#7c9a00", "#546e7a", "#d4a017"];
const FAULT_LIKE = new Set(["outage", "brownout", "comm_loss", "stuck", "spikes", "drift", "trip", "duplicate", "out_of_order", "disable"]);

const state = {
  sim: null, clock: {start_epoch: 0, timezone: "UTC"}, faulted: 0,
  devices: new Map(), order: [], readings: new Map(),
  step: 10, points: 360, totals: {t: [], kinds: {}}, events: [],
  series: new Map(), filtered: [], kinds: [], tags: [],
  pendingTotals: null, dirty: {list: true, chart: true, filters: true, timeline: true},
  actions: {}, commands: {}, pickedScenario: null, detail: null,
};

// ---------- requests and feedback ----------
async function call(method, path, body) {
  const response = await fetch(path, {method, headers, body: body === undefined ? undefined : JSON.stringify(body)});
  let data = null;
  try { data = await response.json(); } catch { /* no JSON body */ }
  if (!response.ok) throw new Error((data && data.detail) || `${response.status} ${response.statusText}`);
  return data;
}
function toast(text, error) {
  const box = document.createElement("div");
  box.className = "toast" + (error ? " error" : "");
  box.textContent = text;
  $("feedback").append(box);
  setTimeout(() => box.remove(), error ? 8000 : 4000);
}
async function run(label, button, work) {
  if (button) { button.disabled = true; button.classList.add("busy"); }
  try {
    const result = await work();
    toast(`${label}: done`);
    return result;
  } catch (error) {
    toast(`${label}: refused: ${error.message}`, true);
    return null;
  } finally {
    if (button) { button.disabled = false; button.classList.remove("busy"); }
  }
}
function command(id, name, params, button) {
  const device = state.devices.get(id);
  const body = params ? {command: name, params} : {command: name};
  return run(`${name} → ${device ? device.name : id}`, button,
    () => call("POST", `/api/v1/devices/${encodeURIComponent(id)}/command`, body));
}

// ---------- time ----------
const epoch = t => state.clock.start_epoch + t;
function formatter(options) {
  try { return new Intl.DateTimeFormat("en-GB", {...options, timeZone: state.clock.timezone}); }
  catch { return new Intl.DateTimeFormat("en-GB", {...options, timeZone: "UTC"}); }
}
let clockFormat = null, shortFormat = null;
function setClock(clock) {
  state.clock = clock;
  clockFormat = formatter({weekday: "short", day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false});
  shortFormat = formatter({hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false});
}
setClock(state.clock);
const tzDate = ts => uPlot.tzDate(new Date(ts * 1e3), state.clock.timezone);

// ---------- stream ----------
function connect() {
  const stream = new EventSource("/api/v1/stream" + (token ? "?access_token=" + encodeURIComponent(token) : ""));
  stream.addEventListener("snapshot", e => onSnapshot(JSON.parse(e.data)));
  stream.addEventListener("delta", e => onDelta(JSON.parse(e.data)));
  stream.onerror = () => { $("clock-time").textContent = "reconnecting…"; };  // EventSource retries: a new snapshot resyncs
}

function readingOf(payload, t) {
  return payload ? {t, power: payload.power, voltage: payload.voltage, current: payload.current, energy: payload.energy} : null;
}

function onSnapshot(s) {
  state.sim = s.simulation;
  state.devices.clear(); state.order = []; state.readings.clear(); state.series.clear();
  state.totals = {t: [], kinds: {}}; state.events = [];
  if (!s.simulation.running) { schedule("list", "chart", "filters", "timeline"); return; }
  setClock(s.clock);
  state.faulted = s.faulted;
  state.step = s.history.step; state.points = s.history.points;
  for (const d of s.devices) {
    state.devices.set(d.id, d); state.order.push(d.id);
    const r = readingOf(d.reading, d.reading_t);
    if (r) state.readings.set(d.id, r);
  }
  state.events = s.events;
  state.pendingTotals = [];
  call("GET", "/api/v1/history").then(h => {
    state.totals = {t: h.t, kinds: h.totals};
    for (const extra of state.pendingTotals || []) addTotals(extra);
    state.pendingTotals = null;
    schedule("chart");
  }).catch(error => toast("history: " + error.message, true));
  if (state.detail) openDetail(state.detail.id);
  schedule("list", "chart", "filters", "timeline");
}

function onDelta(d) {
  state.sim = d.simulation;
  if (!d.simulation.running) { schedule("list"); return; }
  if ("faulted" in d) state.faulted = d.faulted;
  let orderChanged = false;
  for (const device of d.devices || []) {
    if (!state.devices.has(device.id)) { state.order.push(device.id); orderChanged = true; }
    state.devices.set(device.id, device);
  }
  if (d.removed && d.removed.length) {
    const gone = new Set(d.removed);
    for (const id of gone) { state.devices.delete(id); state.readings.delete(id); state.series.delete(id); }
    state.order = state.order.filter(id => !gone.has(id)); orderChanged = true;
  }
  if ((d.devices && d.devices.length) || orderChanged) schedule("filters");
  const r = d.readings;
  if (r) for (let i = 0; i < r.id.length; i++) {
    state.readings.set(r.id[i], {t: r.t[i], power: r.power[i], voltage: r.voltage[i], current: r.current[i], energy: r.energy[i]});
  }
  if (d.totals) {
    if (state.pendingTotals) state.pendingTotals.push(d.totals); else addTotals(d.totals);
    for (const [id, series] of state.series) {   // each device's point at a step: the power it shows then
      const reading = state.readings.get(id);
      for (const t of d.totals.t) { series.t.push(t); series.power.push(reading ? reading.power : null); }
      trim(series, "power");
    }
    schedule("chart");
  }
  if (d.events && d.events.length) {
    state.events.push(...d.events);
    if (state.events.length > 500) state.events.splice(0, state.events.length - 500);
    schedule("timeline", "chart");
    if (state.detail && d.events.some(e => e.targets.includes(state.detail.id) || e.count > e.targets.length)) refreshDetailEvents();
  }
  schedule("list");
}

function addTotals(extra) {
  const last = state.totals.t.length ? state.totals.t[state.totals.t.length - 1] : -Infinity;
  extra.t.forEach((t, i) => {
    if (t <= last) return;
    const n = state.totals.t.length;
    state.totals.t.push(t);
    for (const [kind, values] of Object.entries(extra.kinds)) {
      const column = state.totals.kinds[kind] || (state.totals.kinds[kind] = new Array(n).fill(null));
      column.push(values[i]);
    }
    for (const column of Object.values(state.totals.kinds)) if (column.length < n + 1) column.push(null);
  });
  const excess = state.totals.t.length - state.points;
  if (excess > 0) {
    state.totals.t.splice(0, excess);
    for (const column of Object.values(state.totals.kinds)) column.splice(0, excess);
  }
}
function trim(series, key) {
  const excess = series.t.length - state.points;
  if (excess > 0) { series.t.splice(0, excess); series[key].splice(0, excess); }
}

// ---------- rendering, at most once a frame ----------
let frame = 0;
function schedule(...parts) {
  for (const part of parts) state.dirty[part] = true;
  if (!frame) frame = requestAnimationFrame(render);
}
const renderTimes = [];
function render() {
  frame = 0;
  const started = performance.now();
  renderHeader();
  if (state.dirty.filters) { state.dirty.filters = false; rebuildFilters(); state.dirty.list = true; }
  if (state.dirty.list) { state.dirty.list = false; renderSummary(); renderList(); renderDetail(); }
  if (state.dirty.chart) { state.dirty.chart = false; renderSiteChart(); renderRowCharts(); }
  if (state.dirty.timeline) { state.dirty.timeline = false; renderTimeline(); }
  renderTimes.push(performance.now() - started);
  if (renderTimes.length > 200) renderTimes.shift();
}
// For the browser tests: how long updates take, and how many points the charts hold.
window.iotMock = {
  renderTimes,
  sitePoints: () => (sitePlot ? sitePlot.data[0].length : 0),
  rowPoints: id => { const row = pool.find(r => r.id === id); return row && row.plot ? row.plot.data[0].length : 0; },
  ticks: plot => (plot ? plot.axes.map(axis => axis._values || []) : []),  // the labels uPlot drew on each axis
  siteTicks: () => iotMock.ticks(sitePlot),
  rowTicks: id => iotMock.ticks((pool.find(r => r.id === id) || {}).plot),
  detailTicks: () => iotMock.ticks(detailPlot),
};

function renderHeader() {
  const s = state.sim;
  if (!s) return;
  if (!s.running) {
    $("clock-time").textContent = "stopped: pick a scenario and start it";
    $("clock-zone").textContent = ""; $("clock-mode").textContent = "stopped";
    $("scenario").textContent = ""; $("paused").hidden = true;
    $("pause").hidden = false; $("pause").disabled = true; $("resume").hidden = true; $("stop").disabled = true;
    $("mqtt").hidden = true;
    return;
  }
  $("scenario").textContent = `${s.scenario.name} r${s.scenario.revision}`;
  $("clock-time").textContent = clockFormat.format(new Date(epoch(s.sim_time) * 1000));
  $("clock-zone").textContent = state.clock.timezone;
  $("clock-mode").textContent = `${s.clock} ×${s.speed == null ? "max" : s.speed}`;
  $("paused").hidden = !s.paused;
  $("pause").hidden = s.paused; $("resume").hidden = !s.paused; $("pause").disabled = false; $("stop").disabled = false;
  const mqtt = $("mqtt");
  mqtt.hidden = false;
  mqtt.textContent = s.mqtt.connected ? "MQTT connected" : "MQTT disconnected";
  mqtt.className = "pill " + (s.mqtt.connected ? "ok" : "bad");
  if (document.activeElement !== $("speed") && s.speed != null) {
    const select = $("speed"), value = String(s.speed);
    if (![...select.options].some(o => o.value === value)) select.add(new Option("×" + value, value));
    select.value = value;
  }
  if (state.pickedScenario === null && $("scenarios").value !== s.scenario.name) $("scenarios").value = s.scenario.name;
}

function renderSummary() {
  const s = state.sim;
  if (!s || !s.running) return;
  let power = 0, energy = 0;
  for (const r of state.readings.values()) { power += r.power || 0; energy += r.energy || 0; }
  $("total-power").textContent = power.toLocaleString("en-GB", {maximumFractionDigits: 1, minimumFractionDigits: 1});
  $("total-energy").textContent = energy.toLocaleString("en-GB", {maximumFractionDigits: 1, minimumFractionDigits: 1});
  $("count-online").textContent = s.devices.online.toLocaleString("en-GB");
  $("count-offline").textContent = (s.devices.total - s.devices.online).toLocaleString("en-GB");
  $("count-faulted").textContent = state.faulted.toLocaleString("en-GB");
  $("count-total").textContent = s.devices.total.toLocaleString("en-GB");
}

// ---------- badges and staleness: from the server's device state ----------
function isStale(device, reading) {
  if (!state.sim || !state.sim.running) return false;
  if (!reading || reading.t == null) return true;
  return state.sim.sim_time - reading.t > Math.max(2.5 * device.interval, device.interval + 10);
}
function badgesOf(device, stale) {
  const list = [[device.status, device.status]];
  if (!device.enabled) list.push(["disabled", "disabled"]);
  for (const [name, on] of Object.entries(device.faults)) if (on) list.push([name, name.replace(/_/g, " ")]);
  if (device.override_kw != null) list.push(["override", `override ${device.override_kw} kW`]);
  if (stale) list.push(["stale", "stale"]);
  return list;
}
function fillBadges(box, device, stale) {
  const key = badgesOf(device, stale).map(b => b[1]).join("|");
  if (box.dataset.key === key) return;
  box.dataset.key = key;
  box.replaceChildren(...badgesOf(device, stale).map(([cls, text]) => {
    const span = document.createElement("span");
    span.className = "badge " + cls; span.textContent = text;
    return span;
  }));
}
const isFaulted = d => Object.values(d.faults).some(Boolean);

// ---------- filters and the virtual list ----------
function rebuildFilters() {
  const kinds = new Set(), tags = new Set();
  for (const d of state.devices.values()) { kinds.add(d.kind); for (const t of d.tags || []) tags.add(t); }
  refill($("filter-kind"), [...kinds].sort());
  refill($("filter-tag"), [...tags].sort());
  refillTargets([...kinds].sort(), [...tags].sort());
  applyFilters();
}
function refill(select, values) {
  const key = values.join("\n");
  if (select.dataset.key === key) return;
  select.dataset.key = key;
  const keep = select.value;
  while (select.options.length > 1) select.remove(1);
  for (const v of values) select.add(new Option(v, v));
  select.value = values.includes(keep) ? keep : "";
}
function refillTargets(kinds, tags) {
  const select = $("target");
  const ids = state.order.slice(0, 500);
  const key = [kinds, tags, ids].flat().join("\n");
  if (select.dataset.key === key) return;
  select.dataset.key = key;
  const keep = select.value;
  select.replaceChildren(new Option("all devices", "all"));
  for (const k of kinds) select.add(new Option(`kind: ${k}`, JSON.stringify({kind: k})));
  for (const t of tags) select.add(new Option(`tag: ${t}`, JSON.stringify({tag: t})));
  for (const id of ids) select.add(new Option(state.devices.get(id).name + " · " + id, id));
  if ([...select.options].some(o => o.value === keep)) select.value = keep;
}
function applyFilters() {
  const text = $("filter-text").value.trim().toLowerCase(), kind = $("filter-kind").value;
  const tag = $("filter-tag").value, wanted = $("filter-state").value;
  state.filtered = state.order.filter(id => {
    const d = state.devices.get(id);
    if (kind && d.kind !== kind) return false;
    if (tag && !(d.tags || []).includes(tag)) return false;
    if (text && !`${d.id} ${d.name} ${d.location || ""}`.toLowerCase().includes(text)) return false;
    if (wanted === "online" || wanted === "offline") return d.status === wanted;
    if (wanted === "faulted") return isFaulted(d);
    if (wanted === "disabled") return !d.enabled;
    if (wanted === "stale") return isStale(d, state.readings.get(id));
    return true;
  });
  $("spacer").style.height = state.filtered.length * ROW + "px";
  $("list").style.height = Math.min(state.filtered.length * ROW + 2, Math.max(300, innerHeight * 0.66)) + "px";
  $("shown").textContent = state.filtered.length === state.order.length
    ? `(${state.order.length.toLocaleString("en-GB")})`
    : `(${state.filtered.length.toLocaleString("en-GB")} of ${state.order.length.toLocaleString("en-GB")})`;
}
for (const id of ["filter-text", "filter-kind", "filter-tag", "filter-state"]) $(id).addEventListener("input", () => { applyFilters(); schedule("list", "chart"); });
$("shared-scale").addEventListener("change", () => schedule("chart"));
$("list").addEventListener("scroll", () => schedule("list", "chart"), {passive: true});

const pool = [];
function visibleRange() {
  const list = $("list");
  const first = Math.max(0, Math.floor(list.scrollTop / ROW) - 2);
  const last = Math.min(state.filtered.length, Math.ceil((list.scrollTop + list.clientHeight) / ROW) + 2);
  return [first, last];
}
function renderList() {
  if ($("filter-state").value === "stale" || $("filter-state").value) applyFilters();
  const [first, last] = visibleRange();
  const count = Math.max(0, last - first);
  while (pool.length < count) pool.push(makeRow());
  pool.forEach((row, i) => {
    if (i >= count) { if (row.el.isConnected) row.el.remove(); row.id = null; return; }
    if (!row.el.isConnected) $("devices").append(row.el);
    bindRow(row, state.filtered[first + i], first + i);
  });
  if (count && pool.slice(0, count).some(row => !state.series.has(row.id))) wantSeries();
}
function cell(cls) { const span = document.createElement("span"); span.className = cls || ""; span.setAttribute("role", "cell"); return span; }
function makeRow() {
  const el = document.createElement("div");
  el.className = "row"; el.setAttribute("role", "row");
  const who = cell(), name = document.createElement("button"), id = document.createElement("div");
  name.className = "name"; name.type = "button"; id.className = "id"; who.append(name, id);
  const where = cell(), badges = cell("badges");
  const power = cell("num power"), voltage = cell("num voltage"), current = cell("num current"), energy = cell("num energy");
  const chart = cell("spark"), actions = cell("actions");
  el.append(who, where, badges, power, voltage, current, energy, chart, actions);
  const row = {el, name, id: null, idText: id, where, badges, power, voltage, current, energy, chart, actions, plot: null, device: null};
  name.addEventListener("click", () => row.id && openDetail(row.id));
  return row;
}
function bindRow(row, id, index) {
  const device = state.devices.get(id), reading = state.readings.get(id);
  row.el.style.top = index * ROW + "px";
  if (row.id !== id) {
    row.id = id; row.el.id = "device-" + id; row.el.dataset.id = id;
    row.name.textContent = device.name; row.idText.textContent = id;
    row.name.setAttribute("aria-label", `details of ${device.name}`);
    row.device = null; row.seriesKey = null;
  }
  const stale = isStale(device, reading);
  row.el.classList.toggle("stale", stale);
  row.where.textContent = `${device.kind} · ${device.location || "—"}`;
  fillBadges(row.badges, device, stale);
  row.power.textContent = reading ? reading.power.toFixed(2) : "–";
  row.voltage.textContent = reading ? reading.voltage.toFixed(1) : "–";
  row.current.textContent = reading ? reading.current.toFixed(2) : "–";
  row.energy.textContent = reading ? reading.energy.toFixed(1) : "–";
  row.power.title = stale && reading ? `last reading at ${shortFormat.format(new Date(epoch(reading.t) * 1000))}` : "";
  if (row.device !== device) { row.device = device; fillActions(row.actions, device); }
}
function actionButton(label, onClick, cls) {
  const b = document.createElement("button");
  b.type = "button"; b.textContent = label; if (cls) b.className = cls;
  b.addEventListener("click", () => onClick(b));
  return b;
}
function fillActions(box, device) {
  const id = device.id, items = [];
  items.push(device.enabled
    ? actionButton("disable", b => command(id, "disable", null, b))
    : actionButton("enable", b => command(id, "enable", null, b)));
  items.push(device.status === "online"
    ? actionButton("go offline", b => command(id, "set_offline", null, b))
    : actionButton("go online", b => command(id, "set_online", null, b)));
  if (device.faults.trip) items.push(actionButton("clear trip", b => command(id, "clear_trip", null, b)));
  if (isFaulted(device)) items.push(actionButton("clear faults", b => command(id, "clear_fault", null, b), "danger"));
  if (device.override_kw != null) items.push(actionButton("clear override", b => command(id, "clear_override", null, b)));
  const inject = document.createElement("select");
  inject.setAttribute("aria-label", `inject a fault into ${device.name} for 5 minutes`);
  inject.add(new Option("fault 5m…", ""));
  for (const [name, on] of Object.entries(device.faults)) if (!on) inject.add(new Option(name.replace(/_/g, " "), name));
  inject.addEventListener("change", () => {
    const fault = inject.value;
    if (fault) command(id, "inject_fault", {fault, duration: "5m"}, inject).then(() => { inject.value = ""; });
  });
  items.push(inject);
  box.replaceChildren(...items);
}

// ---------- device series (history from the server, then extended by the stream) ----------
let seriesTimer = 0;
function wantSeries() {
  if (seriesTimer) return;
  seriesTimer = setTimeout(async () => {
    seriesTimer = 0;
    const ids = pool.map(row => row.id).filter(id => id && !state.series.has(id)).slice(0, 200);
    if (!ids.length) return;
    for (const id of ids) state.series.set(id, {t: [], power: [], loading: true});
    try {
      const h = await call("GET", "/api/v1/history?devices=" + ids.map(encodeURIComponent).join(","));
      for (const id of ids) state.series.set(id, {t: h.t.slice(), power: h.devices[id] || h.t.map(() => null)});
      if (state.series.size > 2000) for (const id of [...state.series.keys()].slice(0, 1000)) state.series.delete(id);
      schedule("chart");
    } catch (error) {
      for (const id of ids) state.series.delete(id);
    }
  }, 120);
}
function sharedMax() {
  let max = 0.1;
  for (const d of state.devices.values()) max = Math.max(max, d.rated_kw || 0);
  return max;
}
function nice(value) {  // the next 1, 2 or 5 times a power of ten: round ticks at 0, half and top
  const power = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 5, 10].map(m => m * power).find(v => v >= value * 0.999);
}
function axisFont(size) { return `${size}px system-ui, sans-serif`; }
function timeAxis(size, space) {
  return {stroke: "#5b6b7a", font: axisFont(size), size: size + 10, space, grid: {stroke: "#e4e9ee", width: 1}, ticks: {size: 3},
          values: (u, splits) => {
            const seconds = splits.length > 1 && splits[1] - splits[0] < 60;
            return splits.map(v => shortFormat.format(new Date(v * 1000)).slice(0, seconds ? 8 : 5));
          }};
}
function renderRowCharts() {
  const shared = $("shared-scale").checked ? sharedMax() : null;
  for (const row of pool) {
    if (!row.id || !row.el.isConnected) continue;
    const series = state.series.get(row.id), device = state.devices.get(row.id);
    if (!series || series.loading || !device) continue;
    const xs = series.t.map(epoch), ys = series.power;
    let top = shared;
    if (top == null) { top = device.rated_kw || 0.1; for (const v of ys) if (v != null && v > top) top = v; }
    top = nice(top);
    const key = `${row.id}|${xs.length}|${xs[xs.length - 1]}|${top}`;
    if (row.seriesKey === key) continue;
    row.seriesKey = key;
    if (!row.plot) {
      row.plot = new uPlot({
        width: 262, height: 70, tzDate, legend: {show: false}, cursor: {show: false}, select: {show: false},
        scales: {x: {time: true}, y: {range: () => [0, row.top]}},
        axes: [timeAxis(10, 50), {stroke: "#5b6b7a", font: axisFont(10), size: 34, ticks: {size: 3}, grid: {stroke: "#e4e9ee"},
                                  splits: () => [0, row.top / 2, row.top]}],
        series: [{}, {stroke: "#1f5fbf", width: 1.5, fill: "#1f5fbf22", spanGaps: false}],
      }, [[], []], row.chart);
    }
    row.top = top;
    row.plot.setData([xs, ys]);
  }
}

// ---------- the site chart: power by kind, stacked, with the timeline's events marked ----------
let sitePlot = null, siteKinds = "";
function colour(i) { return PALETTE[i % PALETTE.length]; }
function eventMarks(u) {
  const ctx = u.ctx, {left, top, width, height} = u.bbox;
  const [min, max] = [u.scales.x.min, u.scales.x.max];
  ctx.save();
  // An action that lasts is shaded from its start to its end (or to now, while it is in force).
  const spans = new Map();
  for (const e of state.events) {
    if (e.occurrence == null) continue;
    const span = spans.get(e.occurrence) || {action: e.action, start: null, end: null};
    if (e.phase === "start") span.start = epoch(e.t); else span.end = epoch(e.t);
    spans.set(e.occurrence, span);
  }
  for (const span of spans.values()) {
    if (span.start == null) continue;
    const from = Math.max(span.start, min), to = Math.min(span.end ?? max, max);
    if (to <= from) continue;
    const x0 = u.valToPos(from, "x", true), x1 = u.valToPos(to, "x", true);
    ctx.fillStyle = FAULT_LIKE.has(span.action) ? "#b3261e1a" : "#1f5fbf14";
    ctx.fillRect(x0, top, x1 - x0, height);
  }
  ctx.font = `${Math.round(11 * devicePixelRatio)}px system-ui, sans-serif`;
  let lastLabel = -Infinity;
  for (const e of state.events) {
    const x = epoch(e.t);
    if (x < min || x > max) continue;
    const px = Math.round(u.valToPos(x, "x", true));
    const fault = FAULT_LIKE.has(e.action) || e.action === "inject_fault";
    ctx.strokeStyle = e.phase === "end" ? "#7a8591" : fault ? "#b3261e" : "#1f5fbf";
    ctx.setLineDash(e.phase === "end" ? [4 * devicePixelRatio, 4 * devicePixelRatio] : []);
    ctx.lineWidth = 1.5 * devicePixelRatio;
    ctx.beginPath(); ctx.moveTo(px, top); ctx.lineTo(px, top + height); ctx.stroke();
    if (e.phase === "start" && px - lastLabel > 70 * devicePixelRatio && px < left + width - 40) {
      ctx.fillStyle = ctx.strokeStyle;
      ctx.fillText(e.action.replace(/_/g, " "), px + 3 * devicePixelRatio, top + 12 * devicePixelRatio);
      lastLabel = px;
    }
  }
  ctx.restore();
}
function renderSiteChart() {
  const box = $("site-chart");
  const kinds = Object.keys(state.totals.kinds).sort();
  const key = kinds.join("|");
  if (!sitePlot || key !== siteKinds) {
    if (sitePlot) sitePlot.destroy();
    siteKinds = key;
    const series = [{value: (u, v) => legendTime(u, v)}];
    for (let i = kinds.length - 1; i >= 0; i--) {  // the top of the stack first: each fills down over the ones below
      series.push({
        label: kinds[i], stroke: colour(i), fill: colour(i) + "cc", width: 1, points: {show: false},
        value: (u, v, si, idx) => (own(kinds, i, idx ?? state.totals.t.length - 1) ?? 0).toFixed(1) + " kW",
      });
    }
    sitePlot = new uPlot({
      width: Math.max(300, box.clientWidth), height: 320, tzDate,
      scales: {x: {time: true}, y: {range: (u, lo, hi) => [0, Math.max(1, hi * 1.08)]}},
      axes: [
        timeAxis(13, 80),
        {label: "kW", stroke: "#3b4a58", font: axisFont(13), labelFont: axisFont(13), size: 56, grid: {stroke: "#e4e9ee"}},
      ],
      series, hooks: {draw: [eventMarks]},
    }, [[]].concat(series.slice(1).map(() => [])), box);
  }
  const xs = state.totals.t.map(epoch);
  const stacked = [], running = xs.map(() => 0);
  kinds.forEach(kind => {
    const column = state.totals.kinds[kind];
    stacked.push(running.map((sum, j) => (running[j] = sum + (column[j] || 0))));
  });
  sitePlot.setData([xs, ...stacked.reverse()]);
  const live = state.sim && state.sim.running;
  $("site-empty").hidden = xs.length > 1;
  $("site-empty").textContent = live
    ? `collecting the first points: one per ${state.step} s of sim time` : "no simulation running";
}
function legendTime(u, v) {  // under the cursor, else the newest point
  const x = v ?? u.data[0][u.data[0].length - 1];
  return x == null ? "–" : clockFormat.format(new Date(x * 1000));
}
function own(kinds, i, idx) { const column = state.totals.kinds[kinds[i]]; return column ? column[idx] : null; }
window.addEventListener("resize", () => { if (sitePlot) sitePlot.setSize({width: $("site-chart").clientWidth, height: 320}); });

// ---------- timeline ----------
function eventItem(e) {
  const li = document.createElement("li");
  const time = document.createElement("time");
  time.textContent = shortFormat.format(new Date(epoch(e.t) * 1000));
  const what = document.createElement("span");
  const action = document.createElement("span");
  action.className = "ev-action" + (e.phase === "end" ? " ev-end" : FAULT_LIKE.has(e.action) ? " ev-fault" : "");
  const fault = e.params && e.params.fault ? ` ${e.params.fault}` : "";
  action.textContent = (e.phase === "end" ? "end of " : "") + e.action.replace(/_/g, " ") + fault;
  const targets = e.count > 3 ? `${e.count} devices` : e.targets.join(", ");
  const source = document.createElement("span");
  source.className = "ev-src"; source.textContent = e.source;
  what.append(action, ` · ${targets}`, source);
  li.append(time, what);
  return li;
}
function renderTimeline() {
  $("timeline").replaceChildren(...state.events.slice(-200).reverse().map(eventItem));
  $("timeline-empty").hidden = state.events.length > 0;
}

// ---------- detail view ----------
let detailPlot = null;
async function openDetail(id) {
  const device = state.devices.get(id);
  if (!device) return;
  state.detail = {id, t: [], power: []};
  $("detail-title").textContent = device.name;
  $("detail-meta").textContent = `${id} · ${device.kind} · ${device.location || "no location"} · rated ${device.rated_kw} kW · every ${device.interval} s`;
  if (!$("detail").open) $("detail").showModal();
  fillCommandForm($("detail-action"), $("detail-params"), state.commands);
  renderDetail();
  try {
    const h = await call("GET", `/api/v1/history/devices/${encodeURIComponent(id)}`);
    if (!state.detail || state.detail.id !== id) return;
    state.detail.t = h.t; state.detail.power = h.power;
    $("detail-events").replaceChildren(...h.events.slice().reverse().map(eventItem));
    renderDetailChart();
  } catch (error) { toast("device history: " + error.message, true); }
}
async function refreshDetailEvents() {
  const id = state.detail.id;
  const h = await call("GET", `/api/v1/history/devices/${encodeURIComponent(id)}`).catch(() => null);
  if (h && state.detail && state.detail.id === id) $("detail-events").replaceChildren(...h.events.slice().reverse().map(eventItem));
}
function renderDetail() {
  if (!state.detail) return;
  const device = state.devices.get(state.detail.id), reading = state.readings.get(state.detail.id);
  if (!device) return;
  const stale = isStale(device, reading);
  fillBadges($("detail-badges"), device, stale);
  const values = reading ? [["power", reading.power.toFixed(3), "kW"], ["voltage", reading.voltage.toFixed(1), "V"],
    ["current", reading.current.toFixed(3), "A"], ["energy", reading.energy.toFixed(3), "kWh"]] : [];
  $("detail-values").replaceChildren(...values.map(([name, value, unit]) => {
    const span = document.createElement("span");
    const b = document.createElement("b"); b.textContent = value;
    span.append(`${name} `, b, ` ${unit}`);
    return span;
  }));
  $("detail-values").classList.toggle("stale", stale);
}
function renderDetailChart() {
  const d = state.detail;
  if (!d) return;
  const box = $("detail-chart");
  if (!detailPlot) {
    detailPlot = new uPlot({
      width: Math.max(400, box.clientWidth || 1000), height: 300, tzDate,
      scales: {x: {time: true}, y: {range: (u, lo, hi) => [0, Math.max(0.1, hi * 1.1)]}},
      axes: [timeAxis(13, 80), {label: "kW", font: axisFont(13), labelFont: axisFont(13), size: 56, grid: {stroke: "#e4e9ee"}}],
      series: [{value: (u, v) => legendTime(u, v)}, {label: "power", stroke: "#1f5fbf", width: 2, fill: "#1f5fbf22",
                value: (u, v, si, idx) => { const p = u.data[1][idx ?? u.data[1].length - 1]; return p == null ? "–" : p.toFixed(3) + " kW"; }}],
      hooks: {draw: [u => eventMarksFor(u, d.id)]},
    }, [[], []], box);
  }
  detailPlot.setData([d.t.map(epoch), d.power]);
}
function eventMarksFor(u, id) {
  const all = state.events;
  state.events = all.filter(e => e.targets.includes(id) || e.count > e.targets.length);
  try { eventMarks(u); } finally { state.events = all; }
}
$("detail-close").addEventListener("click", () => $("detail").close());
$("detail").addEventListener("close", () => { state.detail = null; });

// ---------- commands and actions: the vocabulary, from the API's own schema ----------
function paramInputs(box, properties) {
  box.replaceChildren();
  for (const [name, field] of Object.entries(properties || {})) {
    const choices = field.enum || (field.anyOf || []).flatMap(a => a.enum || []);
    let input;
    if (choices.length) {
      input = document.createElement("select");
      if (!(field.required)) input.add(new Option(`${name}…`, ""));
      for (const c of choices) input.add(new Option(c, c));
    } else {
      input = document.createElement("input");
      input.size = 9;
      input.placeholder = field.default !== undefined && field.default !== null ? `${name} ${field.default}` : name;
    }
    input.name = name;
    input.title = field.description || name;
    input.setAttribute("aria-label", name);
    box.append(input);
  }
}
function paramValues(box) {
  const body = {};
  for (const input of box.querySelectorAll("input, select")) {
    if (input.value !== "") body[input.name] = isNaN(Number(input.value)) ? input.value : Number(input.value);
  }
  return body;
}
function fillCommandForm(select, box, table) {
  const keep = select.value;
  if (select.options.length !== Object.keys(table).length) {
    select.replaceChildren(...Object.keys(table).map(name => new Option(name, name)));
    select.onchange = () => paramInputs(box, table[select.value]);
  }
  if (keep && table[keep]) select.value = keep;
  paramInputs(box, table[select.value]);
}
fetch("/openapi.json", {headers}).then(r => r.json()).then(doc => {
  const schemas = doc.components.schemas, deref = ref => schemas[ref.split("/").pop()];
  for (const member of schemas.EventRequest.oneOf) {
    const {action, target, ...params} = deref(member.$ref).properties;
    state.actions[action.const] = params;
  }
  for (const [name, ref] of Object.entries(schemas.Command.discriminator.mapping)) {
    const params = deref(ref).properties.params;
    state.commands[name] = params && params.$ref ? deref(params.$ref).properties : {};
  }
  fillCommandForm($("action"), $("params"), state.actions);
}).catch(error => toast("API schema: " + error.message, true));

$("act").addEventListener("submit", async event => {
  event.preventDefault();
  const target = $("target").value;
  const body = {action: $("action").value, target: target.startsWith("{") ? JSON.parse(target) : target, ...paramValues($("params"))};
  const result = $("result");
  result.textContent = "…"; result.className = "";
  try {
    const answer = await call("POST", "/api/v1/simulation/events", body);
    result.textContent = `${answer.action} on ${answer.targets.length} device(s)`; result.className = "done";
  } catch (error) {
    result.textContent = `refused: ${error.message}`; result.className = "refused";
  }
});
$("detail-command").addEventListener("submit", async event => {
  event.preventDefault();
  const params = paramValues($("detail-params")), name = $("detail-action").value;
  const result = $("detail-result");
  const answer = await command(state.detail.id, name, Object.keys(params).length ? params : null, event.submitter);
  result.textContent = answer ? `${name}: done` : `${name}: refused (see the message)`;
  result.className = answer ? "done" : "refused";
});

// ---------- simulation controls ----------
call("GET", "/api/v1/scenarios").then(list => {
  const select = $("scenarios");
  for (const s of list) select.add(new Option(`${s.name} (${s.devices} devices)`, s.name));
  if (state.sim && state.sim.running) select.value = state.sim.scenario.name;
}).catch(error => toast("scenarios: " + error.message, true));
$("scenarios").addEventListener("change", () => { state.pickedScenario = $("scenarios").value; });
$("start-form").addEventListener("submit", event => {
  event.preventDefault();
  const body = {scenario: $("scenarios").value, speed: Number($("start-speed").value) || 1};
  if ($("seed").value !== "") body.seed = Number($("seed").value);
  run(`start ${body.scenario}`, $("start"), () => call("POST", "/api/v1/simulation/start", body))
    .then(() => { state.pickedScenario = null; });
});
$("stop").addEventListener("click", () => run("stop", $("stop"), () => call("POST", "/api/v1/simulation/stop")));
$("pause").addEventListener("click", () => run("pause", $("pause"), () => call("POST", "/api/v1/simulation/pause")).then(s => s && (state.sim = s, schedule())));
$("resume").addEventListener("click", () => run("resume", $("resume"), () => call("POST", "/api/v1/simulation/resume")).then(s => s && (state.sim = s, schedule())));
$("speed").addEventListener("change", () => {
  const speed = Number($("speed").value);
  run(`speed ×${speed}`, $("speed"), () => call("POST", "/api/v1/simulation/speed", {speed}));
});
// "download recording": the session so far as a scenario that `iot-mock run` replays exactly. Fetched
// (so a token goes in the header, and a refusal, e.g. at sim time 0, shows as feedback), then saved
// under the name the server gives.
fetch("/api/v1/simulation/recording", {method: "HEAD", headers}).then(r => {
  const link = $("recording");
  if (r.status === 404 || r.status === 405) link.title = "recording not available on this server";
  else link.removeAttribute("aria-disabled");
}).catch(() => {});
$("recording").addEventListener("click", async event => {
  event.preventDefault();
  if ($("recording").getAttribute("aria-disabled") === "true") return;
  await run("download recording", null, async () => {
    const response = await fetch("/api/v1/simulation/recording", {headers});
    if (!response.ok) {
      let detail = `${response.status} ${response.statusText}`;
      try { detail = (await response.json()).detail || detail; } catch { /* no JSON body */ }
      throw new Error(detail);
    }
    const disposition = response.headers.get("content-disposition") || "";
    const name = (disposition.match(/filename="?([^";]+)"?/) || [])[1] || "recording.yaml";
    const url = URL.createObjectURL(await response.blob());
    const a = document.createElement("a"); a.href = url; a.download = name; a.click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  });
});
setInterval(() => schedule("list"), 2000);  // staleness grows with time even when nothing arrives
connect();
