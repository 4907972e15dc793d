// jointrec explorer: plain JavaScript over the JSON API, no build step, no network beyond it.
"use strict";

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

// Path segments (ids) are always encoded: "a/b" reaches the API as the one id "a/b".
const segment = (id) => encodeURIComponent(String(id));

async function api(path, options) {
  let response;
  try {
    response = await fetch(path, options);
  } catch (_) {
    throw new Error("The server did not answer: is 'jointrec serve' still running?");
  }
  let body = null;
  try { body = await response.json(); } catch (_) { body = null; }
  if (!response.ok) {
    throw new Error((body && body.error) || `${response.status} ${response.statusText}`);
  }
  return body;
}

// One status line per view: progress, a summary, or the one error message.
function status(id, text, isError = false) {
  const node = $(id);
  node.textContent = isError ? `Error: ${text}` : text;
  node.classList.toggle("error", isError);
}

// Each view numbers its requests: an answer that arrives after a newer request was sent
// (a slow one, or a toggle clicked twice) is dropped instead of overwriting the newer one.
const latest = {};
function ticket(view) {
  latest[view] = (latest[view] || 0) + 1;
  const mine = latest[view];
  return () => latest[view] === mine;
}

function noMatches(query) {
  return el("li", { class: "muted empty" }, query.trim()
    ? `no titles match '${query.trim()}'`
    : "The catalogue is empty.");
}

const fmt = (value, digits) => (value === null || value === undefined ? "–" : Number(value).toFixed(digits));

function itemTable(items, { rating = false, similar = false, caption = "" } = {}) {
  if (!items.length) return el("p", { class: "muted" }, "Nothing to show.");
  const columns = [["#", "num"], ["Title", ""], ["Genres", ""], ["Year", "num"]];
  if (rating) columns.push(["Rating ★", "num"]);
  else if (similar) columns.push(["Similarity (cosine)", "num"]);
  else columns.push(["Predicted ★", "num"], ["Retrieval score", "num"]);
  const table = el("table", { class: "cards" });
  if (caption) table.append(el("caption", { class: "muted" }, caption));
  table.append(el("thead", {}, el("tr", {}, ...columns.map(([name, cls]) => el("th", { scope: "col", class: cls }, name)))));
  const body = el("tbody");
  items.forEach((item, i) => {
    const cells = [
      el("td", { class: "num", "data-label": "#" }, String(i + 1)),
      el("td", { "data-label": "Title" }, item.title || String(item.item_id)),
      el("td", { class: "genres", "data-label": "Genres" }, (item.genres || []).join(", ")),
      el("td", { class: "num", "data-label": "Year" }, item.year ? String(item.year) : "–"),
    ];
    if (rating) cells.push(el("td", { class: "num", "data-label": "Rating ★" }, fmt(item.rating, 0)));
    else if (similar) cells.push(el("td", { class: "num", "data-label": "Similarity" }, fmt(item.retrieval_score, 3)));
    else cells.push(
      el("td", { class: "num", "data-label": "Predicted ★" }, fmt(item.predicted_rating, 2)),
      el("td", { class: "num", "data-label": "Retrieval score" }, fmt(item.retrieval_score, 3)),
    );
    body.append(el("tr", { class: "rec", "data-item": String(item.item_id) }, ...cells));
  });
  table.append(body);
  return table;
}

// ---- tabs (arrow keys move between them, as the ARIA tabs pattern says) ----------------
const tabs = () => Array.from(document.querySelectorAll("[role=tab]"));

function showView(name, focus = false) {
  for (const tab of tabs()) {
    const selected = tab.dataset.view === name;
    tab.setAttribute("aria-selected", String(selected));
    tab.tabIndex = selected ? 0 : -1;
    $(tab.getAttribute("aria-controls")).hidden = !selected;
    if (selected && focus) tab.focus();
  }
  if (location.hash !== `#${name}`) history.replaceState(null, "", `#${name}`);
  if (name === "report") loadReport();
}

function setUpTabs() {
  for (const tab of tabs()) {
    tab.addEventListener("click", () => showView(tab.dataset.view));
    tab.addEventListener("keydown", (event) => {
      const all = tabs();
      const i = all.indexOf(tab);
      const moves = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: all.length - 1 };
      if (event.key in moves) {
        event.preventDefault();
        showView(all[(moves[event.key] + all.length) % all.length].dataset.view, true);
      }
    });
  }
}

// ---- user view -----------------------------------------------------------------------
async function showUser(event) {
  if (event) event.preventDefault();
  const user = $("user-id").value.trim();
  if (!user) return;
  const k = Math.max(1, Math.min(100, parseInt($("user-k").value, 10) || 10));
  const exclude = $("user-exclude").checked;
  const current = ticket("user");
  status("user-status", "Loading…");
  const id = segment(user);
  try {
    const recs = await api(`/v1/users/${id}/recommendations?k=${k}&exclude_seen=${exclude}`);
    let historyNode = el("p", { class: "muted" }, "Unknown user: no history.");
    if (!recs.fallback) {
      const history = await api(`/v1/users/${id}/history?n=10`);
      historyNode = itemTable(history.items, { rating: true });
    }
    if (!current()) return;
    $("user-recs").replaceChildren(itemTable(recs.items));
    $("user-history").replaceChildren(historyNode);
    const badge = $("user-source");
    badge.textContent = recs.fallback ? "popular (fallback)" : "personalised by the model";
    badge.classList.toggle("fallback", recs.fallback);
    status("user-status", recs.fallback
      ? `User ${user} is not in the training data: showing the most popular movies (fallback).`
      : `${recs.items.length} recommendations for user ${user}${exclude ? ", already rated movies excluded" : ""}.`);
  } catch (error) {
    if (!current()) return;
    clearUser();
    status("user-status", error.message, true);
  }
}

function clearUser() {
  $("user-recs").replaceChildren();
  $("user-history").replaceChildren();
  $("user-source").textContent = "";
}

// ---- movie search shared by the visitor and item views --------------------------------
function debounce(fn, ms) {
  let timer = null;
  return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
}

async function searchMovies(query, limit = 8) {
  const found = await api(`/v1/items?query=${encodeURIComponent(query)}&limit=${limit}`);
  return found.items;
}

// Runs a title search for one view's result list: the items, a line saying nothing
// matched, or (on an error) an empty list and the error on the view's status line.
async function searchInto(view, listId, statusId, render) {
  const query = $(`${view}-search`).value;
  const current = ticket(`${view}-search`);
  const list = $(listId);
  try {
    const items = await searchMovies(query);
    if (!current()) return;
    list.replaceChildren(...(items.length ? items.map(render) : [noMatches(query)]));
    if ($(statusId).classList.contains("error")) status(statusId, "");
  } catch (error) {
    if (!current()) return;
    list.replaceChildren();
    status(statusId, error.message, true);
  }
}

// ---- new visitor view -----------------------------------------------------------------
const visitorRatings = new Map(); // item_id -> {item, rating}

function renderRated() {
  const list = $("visitor-rated");
  list.replaceChildren();
  if (!visitorRatings.size) list.append(el("li", { class: "muted" }, "No ratings yet."));
  for (const [id, { item, rating }] of visitorRatings) {
    list.append(el("li", { "data-item": String(id) },
      el("span", { class: "title" }, `${item.title} — ${rating} ★`),
      el("button", { type: "button", class: "secondary", "aria-label": `Remove rating of ${item.title}`,
        onclick: () => { visitorRatings.delete(id); renderRated(); refreshVisitor(); } }, "Remove")));
  }
}

async function refreshVisitor() {
  const ratings = Array.from(visitorRatings.values()).map(({ item, rating }) => ({ item_id: item.item_id, rating }));
  const current = ticket("visitor");
  status("visitor-status", "Updating…");
  try {
    const recs = await api("/v1/recommendations", {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ ratings, k: 10 }),
    });
    if (!current()) return;
    $("visitor-recs").replaceChildren(itemTable(recs.items));
    const badge = $("visitor-source");
    badge.textContent = recs.fallback ? "popular (fallback)" : "folded in from your ratings";
    badge.classList.toggle("fallback", recs.fallback);
    status("visitor-status", `${ratings.length} rating${ratings.length === 1 ? "" : "s"} used.`);
  } catch (error) {
    if (!current()) return;
    $("visitor-recs").replaceChildren();
    $("visitor-source").textContent = "";
    status("visitor-status", error.message, true);
  }
}

function visitorSearch() {
  return searchInto("visitor", "visitor-results", "visitor-status", (item) => {
      const select = el("select", { "aria-label": `Stars for ${item.title}` },
        ...[5, 4, 3, 2, 1].map((s) => el("option", { value: String(s) }, `${s} ★`)));
      return el("li", { "data-item": String(item.item_id) },
        el("span", { class: "title" }, item.title),
        select,
        el("button", { type: "button", class: "rate", "aria-label": `Rate ${item.title}`,
          onclick: () => {
            visitorRatings.set(item.item_id, { item, rating: Number(select.value) });
            renderRated();
            refreshVisitor();
          } }, "Rate"));
  });
}

// ---- item view ------------------------------------------------------------------------
async function showSimilar(item) {
  const current = ticket("item");
  status("item-status", "Loading…");
  try {
    const similar = await api(`/v1/items/${segment(item.item_id)}/similar?k=10`);
    if (!current()) return;
    $("item-title").textContent = `Most similar to ${similar.item.title}`;
    $("item-similar").replaceChildren(itemTable(similar.items, { similar: true }));
    status("item-status", "");
  } catch (error) {
    if (!current()) return;
    $("item-title").textContent = "";
    $("item-similar").replaceChildren();
    status("item-status", error.message, true);
  }
}

function itemSearch() {
  return searchInto("item", "item-results", "item-status", (item) => el("li", { "data-item": String(item.item_id) },
    el("span", { class: "title" }, item.title),
    el("button", { type: "button", class: "secondary pick", "aria-label": `Show movies similar to ${item.title}`,
      onclick: () => showSimilar(item) }, "Similar")));
}

// ---- model report ---------------------------------------------------------------------
let reportLoaded = false;

const METRICS = [["rmse", "RMSE ★", 3], ["mae", "MAE ★", 3], ["recall@10", "Recall@10", 3],
  ["recall@50", "Recall@50", 3], ["recall@100", "Recall@100", 3], ["ndcg@10", "NDCG@10", 3],
  ["map@10", "MAP@10", 3], ["mrr", "MRR", 3], ["hr@10", "HR@10", 3], ["coverage@10", "Coverage@10", 3]];

function metricsTable(rows) {
  const keys = METRICS.filter(([key]) => rows.some((r) => r.metrics[key] !== undefined && r.metrics[key] !== null));
  const table = el("table", { class: "cards" });
  table.append(el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Model"),
    ...keys.map(([, label]) => el("th", { scope: "col", class: "num" }, label)))));
  table.append(el("tbody", {}, ...rows.map((row) => el("tr", {},
    el("td", { "data-label": "Model" }, row.name),
    ...keys.map(([key, label, digits]) => el("td", { class: "num", "data-label": label },
      typeof row.metrics[key] === "number" ? row.metrics[key].toFixed(digits) : "–"))))));
  return table;
}

async function loadReport() {
  if (reportLoaded) return;
  status("report-status", "Loading…");
  try {
    const report = await api("/v1/model");
    reportLoaded = true;
    const facts = [["Artifact", report.artifact], ["Created", report.created], ["Preset", report.preset],
      ["Data", report.data.dataset], ["Users × items", `${report.users} × ${report.items}`],
      ["Retrieval index", report.index]];
    $("report-facts").replaceChildren(...facts.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, String(v ?? "–"))]));
    $("report-metrics").replaceChildren(metricsTable([{ name: report.name, metrics: report.metrics }]));
    $("report-comparison").replaceChildren(report.comparison
      ? metricsTable(report.comparison)
      : el("p", { class: "muted" }, "This artifact has no comparison (run 'jointrec compare --out ARTIFACT')."));
    $("report-plots").replaceChildren(...report.plots.map((plot) => el("figure", {},
      el("img", { src: plot.url, alt: plot.title, loading: "lazy" }),
      el("figcaption", { class: "muted" }, plot.title))));
    status("report-status", "");
  } catch (error) {
    for (const id of ["report-facts", "report-metrics", "report-comparison", "report-plots"]) {
      $(id).replaceChildren();
    }
    status("report-status", error.message, true);
  }
}

// ---- start ----------------------------------------------------------------------------
document.addEventListener("DOMContentLoaded", async () => {
  setUpTabs();
  $("user-form").addEventListener("submit", showUser);
  $("user-exclude").addEventListener("change", () => { if ($("user-id").value.trim()) showUser(); });
  $("visitor-search").addEventListener("input", debounce(visitorSearch, 200));
  $("item-search").addEventListener("input", debounce(itemSearch, 200));
  renderRated();
  const fromHash = () => {
    const view = location.hash.slice(1);
    showView(["user", "visitor", "item", "report"].includes(view) ? view : "user");
  };
  window.addEventListener("hashchange", fromHash);
  fromHash();
  try {
    const health = await api("/health");
    $("model-name").textContent = `· ${health.users} users · ${health.items} movies · ${health.index} index`;
  } catch (error) {
    $("model-name").textContent = "· server not answering";
  }
  visitorSearch();
  itemSearch();
  refreshVisitor();
});
