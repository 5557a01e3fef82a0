// ALA dashboard: each page fetches its view on every new block (server-sent events from /events) and draws it.
// The page records when it showed each block (window.__shown[block] = Date.now()), which the browser tests read.
"use strict";

const page = document.body.dataset.page;
const base = document.body.dataset.base;
window.__shown = {};

const $ = (sel, root = document) => root.querySelector(sel);
const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") node.textContent = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else node.setAttribute(k, v);
  }
  for (const child of children) node.append(child);
  return node;
};
const svg = (tag, attrs = {}) => {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
};
const num = (x, places = 2) =>
  x === null || x === undefined ? "—" : Number(x).toLocaleString("en-US", { maximumFractionDigits: places });
const pct = (x, places = 2) => (x === null || x === undefined ? "—" : `${(100 * x).toFixed(places)}%`);
const short = (a) => `${a.slice(0, 8)}…${a.slice(-6)}`;
const when = (t) => new Date(t * 1000).toISOString().replace("T", " ").slice(0, 19);

function showError(message) {
  const node = $("#error");
  node.textContent = message || "";
  node.hidden = !message;
}

// ------------------------------------------------------------------ refresh on every block

let inFlight = false;
let again = false;

async function refresh() {
  if (inFlight) {
    again = true;
    return;
  }
  inFlight = true;
  try {
    const view = await VIEWS[page]();
    if (view && view.block !== undefined) {
      document.body.dataset.block = view.block;
      $("#block").textContent = view.block;
      if (!(view.block in window.__shown)) window.__shown[view.block] = Date.now();
    }
  } catch (err) {
    showError(String(err.message || err));
  } finally {
    inFlight = false;
    if (again) {
      again = false;
      refresh();
    }
  }
}

async function getJSON(url) {
  const response = await fetch(url);
  const data = await response.json();
  if (!response.ok) throw new Error(data.error || response.statusText);
  showError("");
  return data;
}

function listen() {
  const source = new EventSource("/events");
  source.onmessage = () => refresh();
  source.onopen = () => $("#live").classList.add("on");
  source.onerror = () => $("#live").classList.remove("on");
}

// ------------------------------------------------------------------ Pools

const W = 560;
const H = 180;
const PAD = 64;

function barChart(c) {
  const slots = c.slots;
  const top = Math.max(1, ...slots.map((s) => Number(s.active) + Number(s.pending)));
  const chart = svg("svg", { viewBox: `0 0 ${W} ${H + 30}`, class: "bars", "data-testid": `bars-${c.symbol}` });
  const step = (W - PAD) / slots.length;
  slots.forEach((s, i) => {
    const x = PAD + i * step + 3;
    const active = (Number(s.active) / top) * H;
    const pending = (Number(s.pending) / top) * H;
    const common = { x, width: step - 6, "data-collateral": c.symbol, "data-slot": s.slot };
    const a = svg("rect", { ...common, y: H - active, height: active, class: "active", "data-active": s.active });
    a.append(svg("title"));
    a.firstChild.textContent = `slot ${s.slot} (${pct(s.premium, 1)}): ${num(s.active)} ${base} active`;
    const p = svg("rect", {
      ...common,
      y: H - active - pending,
      height: pending,
      class: "pending",
      "data-pending": s.pending,
    });
    p.append(svg("title"));
    p.firstChild.textContent = `slot ${s.slot}: ${num(s.pending)} ${base} pending`;
    const label = svg("text", { x: x + (step - 6) / 2, y: H + 14, "text-anchor": "middle" });
    label.textContent = pct(s.premium, 1);
    chart.append(a, p, label);
  });
  const axis = svg("text", { x: 2, y: 12 });
  axis.textContent = `${num(top, 0)} ${base}`;
  chart.append(axis, svg("line", { x1: PAD, y1: H, x2: W, y2: H, class: "axis" }));
  const legend = svg("text", { x: PAD, y: H + 28 });
  legend.textContent = "premium (discount to the oracle) · green active · amber pending";
  chart.append(legend);
  return chart;
}

function curve(c) {
  const slots = c.slots;
  const top = Math.max(1e-12, ...slots.map((s) => s.cumulative_collateral));
  const chart = svg("svg", { viewBox: `0 0 ${W} ${H + 30}`, class: "curve", "data-testid": `curve-${c.symbol}` });
  const step = (W - PAD) / slots.length;
  const points = slots.map((s, i) => {
    const x = PAD + i * step + step / 2;
    const y = H - (s.cumulative_collateral / top) * H;
    return `${x.toFixed(1)},${y.toFixed(1)}`;
  });
  chart.append(svg("polyline", { points: points.join(" "), class: "line" }));
  slots.forEach((s, i) => {
    const [x, y] = points[i].split(",");
    const dot = svg("circle", { cx: x, cy: y, r: 3, "data-slot": s.slot, "data-cumulative": s.cumulative_collateral });
    dot.append(svg("title"));
    dot.firstChild.textContent = `down to ${pct(s.premium, 1)}: ${num(s.cumulative_collateral, 4)} ${c.symbol}`;
    const label = svg("text", { x, y: H + 14, "text-anchor": "middle" });
    label.textContent = pct(s.premium, 1);
    chart.append(dot, label);
  });
  const axis = svg("text", { x: 2, y: 12 });
  axis.textContent = `${num(top, 4)} ${c.symbol}`;
  const legend = svg("text", { x: PAD, y: H + 28 });
  legend.textContent = `collateral the pools would buy down to each discount (cumulative ${c.symbol})`;
  chart.append(axis, legend, svg("line", { x1: PAD, y1: H, x2: W, y2: H, class: "axis" }));
  return chart;
}

function poolSection(c) {
  const vol = c.volatility;
  const breaker = c.breaker.tolerance
    ? c.breaker.tripped
      ? `breaker TRIPPED (confirmable at ${when(c.breaker.confirmable_at)})`
      : `breaker armed at ${pct(c.breaker.tolerance, 1)}`
    : "no breaker";
  const section = el("section", { class: "pool", "data-testid": `pool-${c.symbol}` });
  section.append(
    el("h2", { text: c.symbol }),
    el("p", {
      class: "oracle",
      "data-testid": `oracle-${c.symbol}`,
      text:
        `oracle $${num(c.oracle_price, 4)} · ${breaker} · liquidations ${c.liquidations_paused ? "PAUSED" : "open"}` +
        ` · volatility ${pct(vol.per_observation, 3)} per observation, ${pct(vol.hourly, 2)} per hour` +
        ` · usable ${num(c.usable_liquidity)} ${base}`,
    }),
    el("div", { class: "charts" }, barChart(c), curve(c)),
  );
  const table = el("table", { "data-testid": `slots-${c.symbol}` });
  table.append(el("thead", {}, el("tr", {}, ...["slot", "premium", "price", "active", "pending", "takes", "gives"]
    .map((h) => el("th", { text: h })))));
  const body = el("tbody");
  for (const s of c.slots) {
    if (Number(s.active) === 0 && Number(s.pending) === 0) continue;
    body.append(el("tr", { dataset: { slot: s.slot } }, ...[s.slot, pct(s.premium, 1), `$${num(s.price, 4)}`,
      num(s.active), num(s.pending), num(s.takes), num(s.gives, 6)].map((v) => el("td", { text: String(v) }))));
  }
  table.append(body);
  const p = c.preview;
  section.append(table, el("p", { class: "note", text: `a ${num(p.size)} ${base} liquidation raises ${num(p.raised)}` +
    ` for ${num(p.collateral_sold, 6)} ${c.symbol}; short ${num(p.short)}` }));
  return section;
}

async function pools() {
  const size = ($("#size").value || "25000").replace(/[, _]/g, "");
  const view = await getJSON(`/api/pools?size=${encodeURIComponent(size)}`);
  $("#pools").replaceChildren(...view.collaterals.map(poolSection));
  return view;
}

// ------------------------------------------------------------------ At risk

async function risk() {
  const view = await getJSON("/api/risk");
  const prices = Object.entries(view.prices).map(([k, v]) => `${k} $${num(v, 2)}`).join(", ");
  $("#summary").textContent = `${view.borrowers} borrowers, ${view.liquidatable} liquidatable; ${prices}`;
  const rows = view.accounts.map((r, i) => {
    const link = el("a", { href: `/account/${r.account}`, text: r.account, "data-testid": "account-link" });
    const distance = r.liquidatable ? "LIQUIDATABLE" : r.distance === null ? "—" : pct(r.distance);
    const cells = [String(i + 1), link, distance, r.collateral || "", r.binding || "",
      r.sigmas === null ? "—" : r.sigmas.toFixed(2), r.health === null ? "∞" : r.health.toFixed(4),
      num(r.debt_value), num(r.collateral_value)];
    return el("tr", { class: r.liquidatable ? "hot" : "", dataset: { account: r.account } },
      ...cells.map((c) => el("td", {}, c)));
  });
  $("#risk tbody").replaceChildren(...rows);
  return view;
}

// ------------------------------------------------------------------ Account

function ramp(r) {
  if (!r) return "";
  if (r.to !== undefined) return `→ ${num(r.to, 4)} at ${when(r.ends_at)}`;
  return Object.entries(r).map(([k, v]) => `${k} → ${num(v.liq_ltv, 4)} at ${when(v.ends_at)}`).join("; ");
}

async function account() {
  const address = $("#address").dataset.address;
  const view = await getJSON(`/api/account/${address}`);
  $("#status").textContent = `${view.liquidatable ? "LIQUIDATABLE" : "healthy"} · debt ${num(view.debt)} ` +
    `${view.debt_symbol} ($${num(view.debt_value)}) · collateral $${num(view.collateral_value)}`;
  $("#status").className = view.liquidatable ? "error" : "";
  const m = view.metrics;
  const rows = [
    ["LTV", pct(m.ltv.value), pct(m.ltv.opening_limit), pct(m.ltv.threshold), ramp(m.ltv.ramp)],
    ["health", m.health.value === null ? "∞" : num(m.health.value, 4), "", num(m.health.threshold, 2), ""],
    ["risk ratio", num(m.risk_ratio.value, 4), num(m.risk_ratio.opening_limit, 4), num(m.risk_ratio.threshold, 4),
      ramp(m.risk_ratio.ramp)],
    ["leverage", num(m.leverage.value, 4), num(m.leverage.opening_limit, 4), num(m.leverage.threshold, 4),
      ramp(m.leverage.ramp)],
  ];
  $("#metrics tbody").replaceChildren(...rows.map((r) => el("tr", { dataset: { metric: r[0] } },
    ...r.map((c) => el("td", { text: c })))));
  $("#collaterals tbody").replaceChildren(...view.collaterals.map((c) => el("tr", { dataset: { symbol: c.symbol } },
    ...[c.symbol, c.amount, `$${num(c.price, 4)}`, num(c.value), pct(c.liq_ltv),
      c.liquidation_price === null ? "—" : `$${num(c.liquidation_price, 4)}`, pct(c.drop), c.binding || ""]
      .map((v) => el("td", { text: String(v) })))));
  return view;
}

// ------------------------------------------------------------------ Liquidations

let plot = null;

function clearedChart(view) {
  const box = $("#chart");
  const series = view.cleared;
  if (!series.length) {
    box.textContent = "no debt cleared yet";
    plot = null;
    return;
  }
  const data = [series.map((p) => p.time), series.map((p) => p.queue), series.map((p) => p.auction),
    series.map((p) => p.write_off)];
  if (plot) {
    plot.setData(data);
    return;
  }
  box.textContent = "";
  plot = new uPlot({
    title: `debt cleared over time (cumulative ${base})`,
    width: 900,
    height: 260,
    // a single instant (every liquidation in one block) still gets a readable minute either side
    scales: { x: { time: true, range: (u, lo, hi) => (lo === hi ? [lo - 60, hi + 60] : [lo, hi]) } },
    axes: [{}, { size: 80, values: (u, ticks) => ticks.map((v) => num(v, 0)) }],
    // stepped: the debt cleared jumps at each liquidation's block and stays level until the next
    series: [{}, ...[["bid queue", "#2a9d3f"], ["Dutch auctions", "#1f6fd1"], ["write-offs", "#d1351f"]].map(
      ([label, stroke]) => ({ label, stroke, width: 2, paths: uPlot.paths.stepped({ align: 1 }) }),
    )],
  }, data, box);
}

async function liquidations() {
  const view = await getJSON("/api/liquidations");
  const t = view.totals;
  $("#totals").textContent = `${view.liquidations.length} liquidations · cleared by the queue ${num(t.queue)} ` +
    `${base}, by auctions ${num(t.auction)}, written off ${num(t.write_off)}`;
  clearedChart(view);
  $("#liquidations tbody").replaceChildren(...view.liquidations.map((r) => el("tr", { dataset: { account: r.account } },
    ...[when(r.time), el("a", { href: `/account/${r.account}`, text: short(r.account) }), r.collateral, num(r.repaid),
      num(r.seized, 6), r.slots.join(", "), short(r.keeper), r.via, num(r.bad_debt)]
      .map((c) => el("td", {}, c)))));
  return view;
}

// ------------------------------------------------------------------ Bid (EIP-1193 wallet)

let wallet = null;

function reasonOf(err) {
  const text = (err && (err.data && err.data.message)) || (err && err.message) || String(err);
  return text.replace(/^.*execution reverted:?\s*/i, "").trim() || text;
}

function showReason(text) {
  const node = $("#reason");
  node.textContent = text || "";
  node.hidden = !text;
}

async function connect() {
  if (!window.ethereum) {
    showReason("no browser wallet (window.ethereum) found");
    return;
  }
  const accounts = await window.ethereum.request({ method: "eth_requestAccounts" });
  wallet = accounts[0];
  $("#wallet").textContent = wallet;
  $("#wallet").dataset.address = wallet;
  refresh();
}

async function receipt(hash) {
  for (let i = 0; i < 600; i++) {
    const r = await window.ethereum.request({ method: "eth_getTransactionReceipt", params: [hash] });
    if (r) return r;
    await new Promise((done) => setTimeout(done, 100));
  }
  throw new Error(`no receipt for ${hash}`);
}

// A transaction mined and reverted: the same call replayed on the state it met (the block before its own; Anvil
// and most local nodes mine one transaction per block) gives the contract's reason string.
async function revertReason(step, r, hash) {
  const before = `0x${(parseInt(r.blockNumber, 16) - 1).toString(16)}`;
  try {
    await window.ethereum.request({ method: "eth_call", params: [{ from: wallet, to: step.to, data: step.data }, before] });
  } catch (err) {
    return reasonOf(err);
  }
  return `${step.label} reverted on chain (${hash})`;
}

async function move(name, form) {
  showReason("");
  $("#outcome").textContent = "";
  if (!wallet) return showReason("connect a wallet first");
  for (let round = 0; round < 3; round++) {
    const response = await fetch(`/api/prepare/${name}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ ...form, from: wallet }),
    });
    const step = await response.json();
    if (!response.ok) return showReason(step.error);
    let hash;
    try {
      hash = await window.ethereum.request({
        method: "eth_sendTransaction",
        params: [{ from: wallet, to: step.to, data: step.data }],
      });
    } catch (err) {
      return showReason(reasonOf(err));
    }
    $("#outcome").textContent = `${step.label}: sent ${hash}, waiting for the block`;
    const r = await receipt(hash);
    if (r.status !== "0x1") return showReason(await revertReason(step, r, hash));
    $("#outcome").textContent = `${step.label}: mined in block ${parseInt(r.blockNumber, 16)}`;
    if (!step.label.startsWith("approve")) break;
  }
  refresh();
}

async function bid() {
  if (!wallet) return null;
  const view = await getJSON(`/api/bids/${wallet}`);
  const writes = document.body.dataset.writes === "on";
  $("#bids tbody").replaceChildren(...view.bids.map((b) => {
    const actions = el("td");
    if (writes) {
      const button = (label, handler) => {
        const node = el("button", { text: label, "data-testid": `${label}-${b.id}` });
        node.addEventListener("click", handler);
        actions.append(node);
      };
      if (b.state === "due") button("activate", () => move("activate", { ids: [b.id] }));
      if (Number(b.remaining) > 0) button("retract", () => move("retract", { ids: [b.id] }));
      if (Number(b.claimable) > 0) button("claim", () => move("claim", { ids: [b.id] }));
    }
    const state = b.state === "waiting" ? `waiting (${b.activates_in} s)` : b.state;
    return el("tr", { dataset: { bid: b.id } }, ...[b.id, b.collateral, b.slot, pct(b.premium, 1), num(b.remaining),
      num(b.bought, 6), num(b.claimable, 6), state].map((c) => el("td", { text: String(c) })), actions);
  }));
  return view;
}

function bidPage() {
  $("#connect").addEventListener("click", connect);
  const form = $("#submit-form");
  if (form) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const data = Object.fromEntries(new FormData(form).entries());
      move("submit", data);
    });
  }
  if (window.ethereum) {
    window.ethereum.request({ method: "eth_accounts" }).then((accounts) => {
      if (accounts.length) connect();
    });
  }
}

const VIEWS = { pools, risk, account, liquidations, bid };

if (page === "bid") bidPage();
if (page === "pools") $("#size").addEventListener("change", () => refresh());
listen();
refresh();
