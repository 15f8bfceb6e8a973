// Dashboard of the reporting service: plain JavaScript and inline SVG, no external assets, so it
// works on an intranet without internet access (and under a strict Content-Security-Policy).
// The token is pasted, or given once in the address as #token= (or ?token=).
"use strict";

const TOKEN_KEY = "reporting-token";

// What an officer can do about a refusal (the HTTP status alone says nothing to a reader).
const ADVICE = {
  401: "访问令牌无效或已过期：请向本单位系统管理员重新获取令牌后粘贴到“令牌”框。",
  403: "当前令牌无权查看这些数据：请确认所属单位与角色，或联系系统管理员。",
  429: "请求过于频繁，请稍后再试。",
};
const NONE = "暂无";
const STATUS = { met: "已完成", missed: "未完成（已逾期）", in_progress: "推进中" };
const SVG = "http://www.w3.org/2000/svg";
// Ground ids of the credit lists (supervision contract); ids added later are shown as they are.
const GROUNDS = {
  annual_report_not_filed: "未按时报送年度工作报告", rectification_overdue: "逾期未整改",
  warning_or_small_fine: "警告或5万元以下罚款", unreachable: "通过登记住所无法联系",
  no_party_organisation: "未按规定建立党组织", abnormal_two_years: "列入异常名录满2年",
  suspension: "限期停止活动", large_fine: "5万元以上罚款", repeated_penalties: "3年内多次处罚",
  revoked: "撤销登记", dishonest_debtor: "失信被执行人", fraudulent_change: "以欺骗手段取得变更登记",
  other: "其他法定情形",
};

function $(selector) { return document.querySelector(selector); }

function text(tag, content, attrs) {
  const node = document.createElement(tag);
  node.textContent = content == null ? "" : String(content);
  Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
  return node;
}

function params() {
  const q = new URLSearchParams();
  if ($("#recorded-until").value) q.set("recorded_until", $("#recorded-until").value);
  return q;
}

async function api(path, extra) {
  const q = params();
  Object.entries(extra || {}).forEach(([k, v]) => { if (v) q.set(k, v); });
  const response = await fetch(`${path}?${q}`, { headers: { Authorization: `Bearer ${$("#token").value}` } });
  if (!response.ok) {
    let detail = response.statusText;
    try { detail = (await response.json()).title || detail; } catch (e) { /* not JSON */ }
    throw new Error(ADVICE[response.status] || `${response.status} ${detail}`);
  }
  return response;
}

// A report as of today may be served from a slightly earlier position while its newer answer
// renders (REPORT_MAX_STALENESS_SECONDS); the service says which, and the officer sees it.
async function withThrough(response) {
  const body = await response.json();
  body.through = response.headers.get("Report-Applied-Through");
  return body;
}

function appliedThrough(through) {
  if (!through) return "";
  const when = new Date(through).toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false });
  return `；已计入 ${when} 前入库的记录`;
}

function renderTargets(body) {
  const box = $("#targets");
  box.replaceChildren();
  body.targets.forEach((t) => {
    const card = text("div", "", { id: `target-${t.id}`, class: `card ${t.status}` });
    card.append(text("div", t.title, { class: "title" }));
    card.append(text("div", `${t.achieved} / ${t.required}`, { class: "figure" }));
    card.append(text("div", STATUS[t.status] || t.status, { class: "status" }));
    const missing = Array.isArray(t.missing) ? t.missing.join("、") : (t.missing_count ? `还差 ${t.missing_count} 家` : "");
    if (missing) card.append(text("div", `缺口：${missing}`, { class: "missing" }));
    if (t.pending && t.pending.length) card.append(text("div", `一年期未满（推进中）：${t.pending.join("、")}`, { class: "note" }));
    if (t.associations !== undefined) card.append(text("div", `另有社会工作协会 ${t.associations} 家（不计入）`, { class: "note" }));
    box.append(card);
  });
}

const UNIT_FIGURES = ["bases_operating", "bases_meeting_standard", "agencies_registered", "agencies_new",
  "agencies_incubating", "agencies_graduated", "funding_total_yuan", "training_attendees", "violations"];

// Money (…_yuan, exact decimal strings) with thousands separators and two decimals.
function shown(key, value) {
  if (!key.endsWith("_yuan") || value == null) return value;
  const [whole, fraction = ""] = String(value).split(".");
  return `${whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",")}.${(fraction + "00").slice(0, 2)}`;
}

function unitRow(row) {
  const tr = text("tr", "", { "data-unit": row.reporting_unit });
  tr.append(text("td", row.unit_name));
  UNIT_FIGURES.forEach((key) => tr.append(text("td", shown(key, row[key]), { "data-figure": key })));
  return tr;
}

// An empty table says so instead of showing nothing.
function rowsOrNone(tbody, rows, columns) {
  tbody.replaceChildren(...(rows.length ? rows : [text("tr", "", { class: "empty" })]));
  if (!rows.length) tbody.firstChild.append(text("td", NONE, { colspan: String(columns) }));
}

function barChart(container, labels, series) {
  // The bottom margin fits the longest unit name (郑州航空港经济综合实验区) written at -40°.
  const width = 900, height = 320, left = 40, bottom = 130, top = 20;
  const max = Math.max(1, ...series.flatMap((s) => s.values));
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("role", "img");
  const slot = (width - left) / Math.max(1, labels.length);
  const barWidth = Math.max(2, (slot - 6) / series.length);
  series.forEach((s, si) => {
    s.values.forEach((v, i) => {
      const h = ((height - bottom - top) * v) / max;
      const rect = document.createElementNS(SVG, "rect");
      rect.setAttribute("x", left + i * slot + 3 + si * barWidth);
      rect.setAttribute("y", height - bottom - h);
      rect.setAttribute("width", barWidth);
      rect.setAttribute("height", h);
      rect.setAttribute("fill", s.color);
      const title = document.createElementNS(SVG, "title");
      title.textContent = `${labels[i]} ${s.name}：${v}`;
      rect.append(title);
      svg.append(rect);
    });
  });
  labels.forEach((label, i) => {
    const t = document.createElementNS(SVG, "text");
    const x = left + i * slot + slot / 2;
    t.setAttribute("x", x);
    t.setAttribute("y", height - bottom + 12);
    t.setAttribute("font-size", "11");
    t.setAttribute("text-anchor", "end");
    t.setAttribute("transform", `rotate(-40 ${x} ${height - bottom + 12})`);
    t.textContent = label;
    svg.append(t);
  });
  series.forEach((s, si) => {
    const t = document.createElementNS(SVG, "text");
    t.setAttribute("x", left + si * 150);
    t.setAttribute("y", 12);
    t.setAttribute("font-size", "12");
    t.setAttribute("fill", s.color);
    t.textContent = `■ ${s.name}`;
    svg.append(t);
  });
  const axis = document.createElementNS(SVG, "text");
  axis.setAttribute("x", 2);
  axis.setAttribute("y", top + 10);
  axis.setAttribute("font-size", "11");
  axis.textContent = String(max);
  svg.append(axis);
  container.replaceChildren(svg);
}

function renderReport(body) {
  $("#report-title").textContent = `各统计单位情况 — ${body.title}（${body.period.start} 至 ${body.period.end}）`;
  rowsOrNone($("#unit-table tbody"), body.units.map((r) => unitRow(r)), UNIT_FIGURES.length + 1);
  $("#unit-table tfoot").replaceChildren(...(body.city ? [unitRow(body.city)] : []));
  barChart($("#unit-chart"), body.units.map((r) => r.unit_name), [
    { name: "登记在册机构", color: "#1565c0", values: body.units.map((r) => r.agencies_registered) },
    { name: "运营基地", color: "#8b1a1a", values: body.units.map((r) => r.bases_operating) },
  ]);
}

function renderTrends(body) {
  barChart($("#trend-chart"), body.rows.map((r) => String(r.year)), [
    { name: "年末登记在册机构", color: "#1565c0", values: body.rows.map((r) => r.agencies_registered) },
    { name: "年末运营基地", color: "#8b1a1a", values: body.rows.map((r) => r.bases_operating) },
  ]);
}

function renderListings(body) {
  const names = { abnormal: "活动异常名录", serious: "严重违法失信名单" };
  rowsOrNone($("#listings tbody"), body.rows.map((r) => {
    const tr = text("tr", "", { "data-uscc": r.uscc });
    [r.agency_name || r.uscc, r.unit_name, names[r.list] || r.list, GROUNDS[r.ground] || r.ground, r.listed_on, r.escalation_due_on || "—"]
      .forEach((v) => tr.append(text("td", v)));
    return tr;
  }), 6);
}

const DIMENSIONS = [["target_group", "服务对象"], ["service_field", "服务领域"]];

// The API returns one row per unit and item (target group or service field, in reference-data
// order); the dashboard pivots them: one row per unit, one column per item.
function renderCoverage(body) {
  const items = [];
  const seen = new Set();
  const units = new Map();
  body.rows.forEach((r) => {
    const key = `${r.dimension}:${r.item}`;
    if (!seen.has(key)) { seen.add(key); items.push(r); }
    if (!units.has(r.reporting_unit)) units.set(r.reporting_unit, { name: r.unit_name, counts: new Map() });
    units.get(r.reporting_unit).counts.set(key, r.agencies);
  });
  const top = text("tr", "");
  top.append(text("th", "统计单位", { rowspan: "2" }));
  const second = text("tr", "");
  DIMENSIONS.forEach(([dimension, label]) => {
    const group = items.filter((r) => r.dimension === dimension);
    if (!group.length) return;
    top.append(text("th", label, { colspan: String(group.length) }));
    group.forEach((r) => {
      const attrs = { "data-dimension": r.dimension, "data-item": r.item };
      if (r.priority) Object.assign(attrs, { class: "priority", title: "重点" });
      second.append(text("th", r.priority ? `★${r.item_name}` : r.item_name, attrs));
    });
  });
  const ordered = DIMENSIONS.flatMap(([dimension]) => items.filter((r) => r.dimension === dimension));
  $("#coverage thead").replaceChildren(top, second);
  $("#coverage tbody").replaceChildren(...[...units.entries()].map(([unit, u]) => {
    const tr = text("tr", "", { "data-unit": unit });
    tr.append(text("td", u.name));
    ordered.forEach((r) => tr.append(text("td", u.counts.get(`${r.dimension}:${r.item}`),
      { "data-dimension": r.dimension, "data-item": r.item })));
    return tr;
  }));
}

async function refresh(event) {
  if (event) event.preventDefault();
  if (!$("#token").value) {
    $("#message").textContent = "请先在“令牌”框粘贴访问令牌（由本单位系统管理员签发），再点“刷新”。";
    document.body.dataset.state = "no-token";
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, $("#token").value);
  document.body.dataset.state = "loading";
  $("#message").textContent = "加载中…";
  try {
    const asOf = $("#as-of").value;
    const [targets, report, coverage, trends, listings] = await Promise.all([
      api("/reports/targets", { as_of: asOf }).then(withThrough),
      api("/reports/half-year", { year: $("#year").value, half: $("#half").value }).then((r) => r.json()),
      api("/reports/coverage", { as_of: asOf }).then((r) => r.json()),
      api("/reports/trends", { as_of: asOf }).then((r) => r.json()),
      api("/reports/credit-listings", { as_of: asOf }).then((r) => r.json()),
    ]);
    renderTargets(targets);
    renderReport(report);
    renderCoverage(coverage);
    renderTrends(trends);
    renderListings(listings);
    $("#message").textContent = `数据截至 ${targets.as_of}${targets.recorded_until ? `（按记录时间 ${targets.recorded_until}）` : ""}${appliedThrough(targets.through)}`;
    document.body.dataset.state = "ready";
  } catch (error) {
    $("#message").textContent = `加载失败：${error.message}`;
    document.body.dataset.state = "error";
  }
}

// The server names every file after its report and date (重点覆盖-2020-12-31.csv); keep it.
function fileName(response, link) {
  const header = response.headers.get("Content-Disposition") || "";
  const encoded = /filename\*=UTF-8''([^;]+)/i.exec(header);
  return encoded ? decodeURIComponent(encoded[1]) : `${link.dataset.export}.${link.dataset.format}`;
}

async function download(event) {
  event.preventDefault();
  const link = event.currentTarget;
  const path = `/reports/${link.dataset.export}`;
  const response = await api(path, { year: $("#year").value, half: $("#half").value, as_of: $("#as-of").value, format: link.dataset.format });
  const url = URL.createObjectURL(await response.blob());
  const a = text("a", "", { href: url, download: fileName(response, link) });
  a.click();
  URL.revokeObjectURL(url);
}

// A token left in the address bar ends up in the history, bookmarks and screenshots (and, as a
// query parameter, in proxy logs): read it once, keep it in this tab's sessionStorage, and take
// it out of the address. A fragment (#token=) is preferred: it never reaches a server.
function takeToken() {
  const url = new URL(window.location.href);
  const fragment = new URLSearchParams(url.hash.slice(1));
  const given = fragment.get("token") || url.searchParams.get("token");
  if (fragment.has("token") || url.searchParams.has("token")) {
    fragment.delete("token");
    url.searchParams.delete("token");
    url.hash = fragment.toString();
    window.history.replaceState(window.history.state, "", url.href);
  }
  if (given) sessionStorage.setItem(TOKEN_KEY, given);
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

function init() {
  $("#token").value = takeToken();
  const query = new URLSearchParams(window.location.search);
  $("#year").value = query.get("year") || String(new Date().getFullYear());
  $("#half").value = query.get("half") || "mid_year";
  $("#as-of").value = query.get("as_of") || "";
  $("#recorded-until").value = query.get("recorded_until") || "";
  $("#controls").addEventListener("submit", refresh);
  document.querySelectorAll("[data-export]").forEach((a) => a.addEventListener("click", download));
  refresh();
}

init();
