"use strict";
// The fosql dashboard. Every value from the database is put on the page
// with textContent or as an attribute value, never as HTML.
const $ = (id) => document.getElementById(id);
const token = document.querySelector('meta[name="fosql-token"]').content;
const PAGE = 60;

const state = {
  datasets: [],       // from /api/datasets
  sql: "",            // the query shown
  dataset: "",        // the dataset it reads
  offset: 0,
  res: null,          // the page shown
  mode: "grid",
  selected: new Set(),
  selCount: 0,
  epoch: null,
  viewSeq: 0,
  map: null,          // {points, bounds}
};

async function api(path, body) {
  const opts = body === undefined ? {} : {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Fosql-Token": token },
    body: JSON.stringify(body),
  };
  const r = await fetch(path, opts);
  const j = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(j.error || r.statusText);
  return j;
}

function showError(e) { $("error").textContent = e ? e.message || String(e) : ""; }

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function fmt(v) {
  if (v === null || v === undefined) return "—";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : v.toPrecision(4);
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

// ---- history of queries, kept in the browser ----
function history() {
  try { return JSON.parse(localStorage.getItem("fosql.history") || "[]"); } catch (e) { return []; }
}
function remember(sql) {
  const h = [sql, ...history().filter((s) => s !== sql)].slice(0, 50);
  localStorage.setItem("fosql.history", JSON.stringify(h));
  fillHistory();
}
function fillHistory() {
  const sel = $("history");
  sel.replaceChildren(el("option", "", "—"));
  sel.firstChild.value = "";
  for (const s of history()) {
    const o = el("option", "", s.length > 90 ? s.slice(0, 90) + "…" : s);
    o.value = s;
    sel.append(o);
  }
}

// ---- queries and the grid ----
// run shows a page of a query: the SQL box's, or with opts.sql the one
// shown (paging and refreshing never pick up half-typed text).
async function run(offset, opts = {}) {
  const sql = opts.sql || $("sql").value.trim();
  if (!sql) return;
  if (!opts.quiet) { showError(null); $("status").textContent = "running…"; }
  try {
    const res = await api("/api/query", { sql, offset, limit: PAGE });
    if (res.columns.indexOf("id") < 0) throw new Error("the query returns no id column: add id to the SELECT list");
    const changed = res.dataset !== state.dataset;
    Object.assign(state, { sql, offset, res, dataset: res.dataset });
    if (!opts.quiet && offset === 0) remember(sql);
    if ($("dataset").value !== res.dataset) $("dataset").value = res.dataset;
    render();
    $("status").textContent = `rows ${offset + 1}–${offset + res.rows.length}${res.more ? "+" : ""} in ${res.ms} ms`;
    if (changed) { await loadSelection(); loadPlots(); }
  } catch (e) {
    if (!opts.quiet) { showError(e); $("status").textContent = ""; }
  }
}

function columnIndex(name) { return state.res.columns.indexOf(name); }

function neighbourColumn() {
  return state.res.columns.findIndex((c) => c.endsWith(".nearest_id") || c === "insights.duplicates.of");
}

function makeCard(id, fields, tags) {
  const card = el("div", "card");
  card.dataset.id = id;
  const img = el("img");
  img.loading = "lazy";
  img.alt = id;
  img.src = "/thumb/" + encodeURIComponent(state.dataset) + "/" + encodeURIComponent(id);
  card.append(img);
  const dl = el("dl");
  dl.append(el("dt", "", "id"), el("dd", "id", id));
  for (const [name, v] of fields) {
    const dd = el("dd", "f");
    dd.dataset.field = name;
    dd.textContent = fmt(v);
    dl.append(el("dt", "", name), dd);
  }
  if (tags) {
    const dd = el("dd", "tags");
    for (const t of tags) dd.append(el("span", "tag", t));
    dl.append(el("dt", "", "tags"), dd);
  }
  card.append(dl);
  const open = el("button", "open", "open");
  open.onclick = (e) => { e.stopPropagation(); openSample(id); };
  card.append(open);
  card.onclick = () => toggle(id);
  if (state.selected.has(id)) card.classList.add("selected");
  return card;
}

function render() {
  const res = state.res;
  const grid = $("grid");
  grid.replaceChildren();
  const idCol = columnIndex("id");
  const tagCol = columnIndex("tags");
  const nbCol = neighbourColumn();
  const pairs = state.mode === "pairs";
  grid.classList.toggle("pairs", pairs);
  if (pairs && nbCol < 0) {
    showError(new Error("the pairs view needs insights.uniqueness.nearest_id (or insights.duplicates.of) in the SELECT list; COMPUTE UNIQUENESS first"));
  }
  for (const row of res.rows) {
    // Every card shows the file and the tags, selected or not.
    const extra = (res.cards || {})[row[idCol]];
    const fields = [];
    if (extra && columnIndex("filepath") < 0) fields.push(["filepath", extra.filepath]);
    res.columns.forEach((c, i) => { if (i !== idCol && i !== tagCol) fields.push([c, row[i]]); });
    const tags = tagCol >= 0 ? (row[tagCol] || []) : (extra ? extra.tags : []);
    const card = makeCard(row[idCol], fields, tags);
    if (pairs && nbCol >= 0 && row[nbCol]) {
      const pair = el("div", "pair");
      const nb = makeCard(String(row[nbCol]), [["neighbour of", row[idCol]]], null);
      nb.classList.add("neighbour");
      pair.append(card, nb);
      grid.append(pair);
    } else {
      grid.append(card);
    }
  }
  $("pageinfo").textContent = `page ${Math.floor(state.offset / PAGE) + 1}`;
  $("prev").disabled = state.offset === 0;
  $("next").disabled = !res.more;
}

function markSelected() {
  document.querySelectorAll(".card").forEach((c) => c.classList.toggle("selected", state.selected.has(c.dataset.id)));
  $("count").textContent = state.selCount + " selected";
}

// takeSelection shows the server's selection. The SQL line under it says
// what the last action on the selection was; a refresh after another
// writer's commit (refresh = true) keeps it, unless the selection is gone.
function takeSelection(res, refresh = false) {
  state.selected = new Set(res.ids);
  state.selCount = res.count;
  if (!refresh || !res.count) $("selsql").textContent = res.count ? res.sql + ";" : "";
  markSelected();
}

async function loadSelection(refresh = false) {
  if (!state.dataset) return;
  try { takeSelection(await api("/api/selection?dataset=" + encodeURIComponent(state.dataset)), refresh); } catch (e) { showError(e); }
}

async function toggle(id) {
  const mode = state.selected.has(id) ? "remove" : "add";
  try { takeSelection(await api("/api/selection", { dataset: state.dataset, ids: [id], mode })); } catch (e) { showError(e); }
}

function selectionSQL() {
  const ds = state.datasets.find((d) => d.name === state.dataset);
  const base = ds ? ds.sql.replace(/\s+ORDER BY[\s\S]*$/i, "") : "SELECT id, filepath, tags FROM `" + state.dataset + "`";
  return base + " WHERE id IN SELECTION";
}

async function showSelection() {
  $("sql").value = selectionSQL();
  await run(0);
}

async function tag(remove) {
  if (state.selCount === 0) { showError(new Error("select samples first")); return; }
  try {
    const res = await api("/api/tags", { dataset: state.dataset, selection: true, tag: $("tag").value, remove });
    $("status").textContent = res.changed + " samples changed";
    $("selsql").textContent = res.sql + ";";
    await run(state.offset, { quiet: true, sql: state.sql });
  } catch (e) { showError(e); }
}

// ---- the sample view ----
async function openSample(id) {
  try {
    const res = await api("/api/sample/" + encodeURIComponent(state.dataset) + "/" + encodeURIComponent(id));
    $("sampleimg").src = "/media/" + encodeURIComponent(state.dataset) + "/" + encodeURIComponent(id);
    $("sampleimg").alt = id;
    const table = $("samplefields");
    table.replaceChildren();
    for (const [name, v] of res.fields) {
      const tr = el("tr");
      tr.append(el("td", "", name), el("td", "", fmt(v)));
      table.append(tr);
    }
    $("sample").dataset.id = id;
    $("selectsample").textContent = state.selected.has(id) ? "Unselect" : "Select";
    $("sample").hidden = false;
  } catch (e) { showError(e); }
}

// ---- plots ----
function loadPlots() {
  const ds = state.datasets.find((d) => d.name === state.dataset);
  const hf = $("histfield"), mc = $("mapcolor");
  hf.replaceChildren();
  mc.replaceChildren(el("option", "", "—"));
  mc.firstChild.value = "";
  for (const f of (ds ? ds.numeric : [])) {
    const o = el("option", "", f); o.value = f; hf.append(o);
  }
  for (const f of ["tags", ...(ds ? ds.numeric : [])]) {
    const o = el("option", "", f); o.value = f; mc.append(o);
  }
  loadHistogram();
  loadMap();
}

async function loadHistogram() {
  const field = $("histfield").value;
  const box = $("hist");
  box.replaceChildren();
  $("histnote").textContent = "";
  if (!field) { $("histnote").textContent = "no numeric field"; return; }
  try {
    const res = await api(`/api/histogram?dataset=${encodeURIComponent(state.dataset)}&field=${encodeURIComponent(field)}`);
    const top = Math.max(1, ...res.bars.map((b) => b.count));
    for (const b of res.bars) {
      const bar = el("div", "bar");
      bar.style.height = (100 * b.count / top) + "%";
      bar.title = `${fmt(b.lo)} – ${fmt(b.hi)}: ${b.count}`;
      bar.dataset.count = b.count;
      bar.onclick = () => { $("sql").value = b.sql; run(0); };
      box.append(bar);
    }
    $("histnote").textContent = `${fmt(res.lo)} … ${fmt(res.hi)}` + (res.missing ? `, ${res.missing} without a value` : "") + "; click a bar to filter the grid";
  } catch (e) { $("histnote").textContent = e.message; }
}

const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

async function loadMap() {
  const canvas = $("map");
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  state.map = null;
  $("mapnote").textContent = "";
  const ds = state.datasets.find((d) => d.name === state.dataset);
  if (!ds || !ds.embeddings) { $("mapnote").textContent = "no stored embeddings: COMPUTE UNIQUENESS in the shell first"; return; }
  try {
    const res = await api(`/api/map?dataset=${encodeURIComponent(state.dataset)}&color=${encodeURIComponent($("mapcolor").value)}`);
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (const [, x, y] of res.points) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
    const pad = 0.05 * Math.max(x1 - x0, y1 - y0, 1e-9);
    state.map = { points: res.points, x0: x0 - pad, x1: x1 + pad, y0: y0 - pad, y1: y1 + pad };
    drawMap();
    const model = res.model.length > 24 ? res.model.slice(0, 20) + "…" : res.model;
    $("mapnote").textContent = `${res.points.length} of ${res.total} points (PCA of ${model}); drag to select, Shift adds`;
  } catch (e) { $("mapnote").textContent = e.message; }
}

function toCanvas(x, y) {
  const m = state.map, c = $("map");
  return [(x - m.x0) / (m.x1 - m.x0) * c.width, c.height - (y - m.y0) / (m.y1 - m.y0) * c.height];
}
function toData(px, py) {
  const m = state.map, c = $("map");
  return [m.x0 + px / c.width * (m.x1 - m.x0), m.y0 + (c.height - py) / c.height * (m.y1 - m.y0)];
}

function drawMap(path) {
  const m = state.map, canvas = $("map"), ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (!m) return;
  const nums = m.points.map((p) => p[3]).filter((v) => typeof v === "number");
  const lo = Math.min(...nums), hi = Math.max(...nums);
  const cats = new Map();
  for (const [id, x, y, c] of m.points) {
    let colour = "#1f77b4";
    if (typeof c === "number") {
      const t = hi > lo ? (c - lo) / (hi - lo) : 0.5;
      colour = `hsl(${240 - 240 * t}, 80%, 45%)`;
    } else if (typeof c === "string") {
      if (!cats.has(c)) cats.set(c, PALETTE[cats.size % PALETTE.length]);
      colour = cats.get(c);
    }
    const [px, py] = toCanvas(x, y);
    ctx.fillStyle = state.selected.has(id) ? "#000" : colour;
    ctx.fillRect(px - 2, py - 2, 4, 4);
  }
  if (path && path.length > 1) {
    ctx.strokeStyle = "#d62728";
    ctx.beginPath();
    ctx.moveTo(path[0][0], path[0][1]);
    for (const [px, py] of path.slice(1)) ctx.lineTo(px, py);
    ctx.closePath();
    ctx.stroke();
  }
}

function mapRegion() {
  const canvas = $("map");
  let path = null;
  const pos = (e) => { const r = canvas.getBoundingClientRect(); return [(e.clientX - r.left) * canvas.width / r.width, (e.clientY - r.top) * canvas.height / r.height]; };
  canvas.addEventListener("mousedown", (e) => { if (state.map) { path = [pos(e)]; e.preventDefault(); } });
  canvas.addEventListener("mousemove", (e) => {
    if (!path) return;
    const p = pos(e);
    if ($("maptool").value === "lasso") path.push(p);
    else path = [path[0], [p[0], path[0][1]], p, [path[0][0], p[1]]];
    drawMap(path);
  });
  const finish = async (e) => {
    if (!path) return;
    const poly = path.map(([px, py]) => toData(px, py));
    path = null;
    if (poly.length < 3) { drawMap(); return; }
    try {
      takeSelection(await api("/api/map/select", { dataset: state.dataset, polygon: poly, mode: e.shiftKey ? "add" : "set" }));
      drawMap();
      await showSelection();
    } catch (err) { showError(err); }
  };
  canvas.addEventListener("mouseup", finish);
  canvas.addEventListener("mouseleave", (e) => { if (path) finish(e); });
}

// ---- start, and following the shell ----
async function load() {
  fillHistory();
  try {
    const res = await api("/api/datasets");
    state.datasets = res.datasets;
    const sel = $("dataset");
    sel.replaceChildren();
    for (const d of res.datasets) {
      const o = el("option", "", `${d.name} (${d.count})`);
      o.value = d.name;
      sel.append(o);
    }
    const views = $("views");
    views.replaceChildren(el("option", "", "—"));
    views.firstChild.value = "";
    for (const v of res.views) {
      const o = el("option", "", `${v.name} (${v.dataset})`);
      o.value = v.sql;
      views.append(o);
    }
    if (!res.start) { showError(new Error("This database has no dataset yet: create one from the shell.")); return; }
    $("sql").value = res.start;
    await run(0);
    // Near-duplicates are judged side by side: start in the pairs view
    // when the first query has each sample's nearest neighbour.
    if (state.res && neighbourColumn() >= 0) setMode("pairs");
  } catch (e) { showError(e); }
}

async function poll() {
  try {
    const st = await api("/api/state");
    if (st.view_seq !== state.viewSeq) {
      state.viewSeq = st.view_seq;
      const sql = st.view_sql || (state.datasets[0] || {}).sql;
      if (sql) { $("sql").value = sql; state.epoch = st.epoch; await run(0); }
    } else if (state.epoch !== null && st.epoch !== state.epoch && state.res) {
      state.epoch = st.epoch;
      await run(state.offset, { quiet: true, sql: state.sql });
      await loadSelection(true);
      drawMap();
    }
    state.epoch = st.epoch;
  } catch (e) { /* the server is gone or busy: try again */ }
  setTimeout(poll, 1000);
}

$("run").onclick = () => run(0);
$("sql").onkeydown = (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); run(0); } };
$("prev").onclick = () => run(Math.max(0, state.offset - PAGE), { sql: state.sql });
$("next").onclick = () => run(state.offset + PAGE, { sql: state.sql });
$("dataset").onchange = () => {
  const ds = state.datasets.find((d) => d.name === $("dataset").value);
  if (ds) { $("sql").value = ds.sql; run(0); }
};
$("views").onchange = () => { if ($("views").value) { $("sql").value = $("views").value; run(0); } };
$("history").onchange = () => { if ($("history").value) $("sql").value = $("history").value; };
function setMode(mode) {
  state.mode = mode;
  $("mode-grid").classList.toggle("on", mode === "grid");
  $("mode-pairs").classList.toggle("on", mode === "pairs");
  if (state.res) render();
}
$("mode-grid").onclick = () => setMode("grid");
$("mode-pairs").onclick = () => setMode("pairs");
$("showsel").onclick = showSelection;
$("clearsel").onclick = async () => {
  try { takeSelection(await api("/api/selection", { dataset: state.dataset, ids: [], mode: "set" })); drawMap(); } catch (e) { showError(e); }
};
$("addtag").onclick = () => tag(false);
$("removetag").onclick = () => tag(true);
$("closesample").onclick = () => { $("sample").hidden = true; };
$("selectsample").onclick = async () => { await toggle($("sample").dataset.id); $("selectsample").textContent = state.selected.has($("sample").dataset.id) ? "Unselect" : "Select"; };
$("histfield").onchange = loadHistogram;
$("mapcolor").onchange = loadMap;
mapRegion();
load().then(() => setTimeout(poll, 1000));
