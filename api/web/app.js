// The citizen's map: MapLibre from this service, answers from /v1, texts in vi and en.
import * as maplibregl from "/static/maplibre-gl.mjs";
import { TEXTS, fmt } from "/static/i18n.js";

const LAYER_GROUPS = {
  zoning: ["zoning-fill", "zoning-road", "zoning-outline", "zoning-labels"],
  parcels: ["parcels-outline", "parcel-labels"],
  red_lines: ["red-lines"],
  plans: ["plans-outline"],
};
const LAYER_LABELS = { zoning: "layerZoning", parcels: "layerParcels", red_lines: "layerRedLines", plans: "layerPlans" };
const PHONE = window.matchMedia("(max-width: 700px)");
const state = {
  lang: "vi", last: null, legend: null, communes: [], layers: new Set(Object.keys(LAYER_GROUPS)), pending: null, foldedForTools: false, seq: 0,
};
const $ = (sel) => document.querySelector(sel);
const t = (key) => TEXTS[state.lang][key] ?? key;

function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}
const locale = () => (state.lang === "vi" ? "vi-VN" : "en-GB");
function noData() {
  return `<span class="muted">${esc(t("noData"))}</span>`;
}
function num(value, digits = 2) {
  if (value === null || value === undefined) return noData();
  return Number(value).toLocaleString(locale(), { maximumFractionDigits: digits });
}
function withUnit(value, unit, digits = 2) {
  return value == null ? noData() : `${num(value, digits)} ${unit}`;
}
function pct(part, whole) {
  return whole ? `${num((100 * part) / whole)} %` : "";
}
function floors(ind) {
  if (ind.floors_min == null && ind.floors_max == null) return noData();
  if (ind.floors_min != null && ind.floors_max != null && ind.floors_min !== ind.floors_max) return `${num(ind.floors_min, 0)}–${num(ind.floors_max, 0)}`;
  return num(ind.floors_max ?? ind.floors_min, 0);
}
function day(iso) {
  if (!iso) return "";
  const d = new Date(`${iso}T00:00:00Z`);
  if (Number.isNaN(d.getTime())) return esc(iso);
  return d.toLocaleDateString(locale(), { timeZone: "UTC", day: "2-digit", month: "2-digit", year: "numeric" });
}

// ---------- hash (deep links): #map=z/lat/lon&parcel=c/s/p&pid=ID | &point=lat,lon &layers=a,b &lang=en ----------
function hashParams() {
  return new URLSearchParams(location.hash.replace(/^#/, ""));
}
function setHash(changes) {
  const params = hashParams();
  for (const [k, v] of Object.entries(changes)) {
    if (v === null) params.delete(k); else params.set(k, v);
  }
  const text = params.toString().replace(/%2F/g, "/").replace(/%2C/g, ",");
  history.replaceState(history.state, "", text ? `#${text}` : location.pathname + location.search);
}

// ---------- texts ----------
function applyTexts() {
  document.documentElement.lang = state.lang;
  document.title = t("pageTitle");
  document.querySelector('meta[name="description"]').content = t("metaDescription");
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  document.querySelectorAll("[data-i18n-placeholder]").forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder); });
  document.querySelectorAll("[data-i18n-aria]").forEach((el) => { el.setAttribute("aria-label", t(el.dataset.i18nAria)); });
  const btn = $("#lang");
  btn.textContent = t("langButton");
  btn.setAttribute("aria-label", t("langLabel"));
  btn.setAttribute("lang", state.lang === "vi" ? "en" : "vi");
  labelMapControls();
  renderSheetToggle();
  renderLayers();
  renderLegend();
  renderCommunes();
  if (state.last) state.last.render();
}

// MapLibre's own strings (control titles, the canvas's label) follow the page's language.
function mapLocale() {
  return {
    "Map.Title": t("mapTitle"),
    "NavigationControl.ZoomIn": t("zoomIn"),
    "NavigationControl.ZoomOut": t("zoomOut"),
    "NavigationControl.ResetBearing": t("resetBearing"),
    "AttributionControl.ToggleAttribution": t("attribution"),
  };
}
function labelMapControls() {
  if (!window.planningMap) return;
  Object.assign(map._locale, mapLocale()); // strings MapLibre reads later
  const label = (sel, key) => document.querySelectorAll(sel).forEach((el) => {
    el.setAttribute("title", t(key));
    el.setAttribute("aria-label", t(key));
  });
  label(".maplibregl-ctrl-zoom-in", "zoomIn");
  label(".maplibregl-ctrl-zoom-out", "zoomOut");
  label(".maplibregl-ctrl-compass", "resetBearing");
  label(".maplibregl-ctrl-attrib-button", "attribution");
  map.getCanvas().setAttribute("aria-label", t("mapLabel"));
}

// ---------- API ----------
class ApiError extends Error {
  constructor(status, detail, matches) { super(detail); this.status = status; this.matches = matches; }
}
async function api(path, options) {
  const res = await fetch(path, options);
  let body = null;
  try { body = await res.json(); } catch { body = null; }
  if (!res.ok) {
    const detail = body && body.detail ? (typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail)) : res.statusText;
    // 300: the key names several parcels (given twice in the cadastral data, or in several
    // former communes); the answer lists them.
    throw new ApiError(res.status, detail, body && body.matches);
  }
  return body;
}

function errorText(err) {
  if (err.key) return t(err.key);
  if (err.status === 404) return t("notFound");
  if (err.status === 409) return t("ambiguous");
  if (err.status === 429 || err.status === 503) return t("busy");
  if (err.status === 400 || err.status === 422) {
    return /outside|service area/i.test(err.message) ? t("outside") : `${t("badInput")}: ${err.message}`;
  }
  return `${t("error")}: ${err.message}`;
}
function showError(err) {
  // Kept as the last render, so that the language toggle translates the message too.
  state.last = { render: () => { $("#panel-body").innerHTML = `<p class="error" role="alert">${esc(errorText(err))}</p>`; } };
  state.last.render();
  openSheet();
}
// Each lookup takes a ticket; an answer that arrives after a newer lookup started is dropped.
function showLoading() {
  $("#panel-body").innerHTML = `<p>${esc(t("loading"))}</p>`;
  openSheet();
  return ++state.seq;
}
const stale = (ticket) => ticket !== state.seq;
function announce(text) {
  $("#status").textContent = text;
}

// ---------- panel rendering ----------
function legendColour(code) {
  const hit = state.legend && state.legend.land_use.find((c) => c.code === code);
  return hit ? hit.color : "#cccccc";
}
function swatch(code) {
  return `<span class="swatch" aria-hidden="true" style="background:${esc(legendColour(code))}"></span>`;
}
function communeName(code) {
  const former = state.communes.find((c) => c.code === code && !c.current);
  const current = state.communes.find((c) => c.code === code && c.current);
  // Cadastral maps keep the commune of their survey; name that one and what it is part of now.
  if (former) {
    const now = former.became_names.filter((n) => n !== former.name);
    return `${former.name} (${code})${now.length ? `, ${fmt(t("becameFmt"), { names: now.join(", ") })}` : ""}`;
  }
  return current ? `${current.name} (${code})` : code;
}
function planHeader(p) {
  const plan = p.plan;
  const level = plan.level_name ? plan.level_name[state.lang] : plan.level;
  const decision = plan.decision
    ? `${esc(t("decision"))} ${esc(plan.decision)}${plan.decision_date ? ` ${esc(t("decisionDate"))} ${day(plan.decision_date)}` : ""}`
    : "";
  return `<h3>${esc(plan.name || plan.code)}</h3>
    <p class="muted">${esc(level)}${plan.scale && !level.includes(plan.scale) ? ` · ${esc(plan.scale)}` : ""}${decision ? `<br>${decision}` : ""}</p>`;
}
function categoryName(z) {
  if (!z.land_use) return noData();
  return `${esc(state.lang === "vi" ? z.land_use.name_vi : z.land_use.name_en)} (${esc(z.land_use.code)})`;
}
// One card per lot: its function and every indicator, readable on a phone (no wide table).
function zoneCard(z, extra = "") {
  const title = `${z.lot ? esc(z.lot) : noData()} · ${z.function ? esc(z.function) : noData()}`;
  const ind = z.indicators;
  const rows = z.is_road
    ? `<p>${esc(t("roadZone"))}${z.name ? `: ${esc(z.name)}` : ""}</p>`
    : `<dl>
        <div><dt>${esc(t("category"))}</dt><dd>${categoryName(z)}</dd></div>
        <div><dt>${esc(t("density"))}</dt><dd>${withUnit(ind.density_max, "%", 1)}</dd></div>
        <div><dt>${esc(t("floors"))}</dt><dd>${floors(ind)}</dd></div>
        <div><dt>${esc(t("far"))}</dt><dd>${num(ind.far_max)}</dd></div>
        <div><dt>${esc(t("height"))}</dt><dd>${withUnit(ind.height_max_m, "m", 1)}</dd></div>
        <div><dt>${esc(t("setback"))}</dt><dd>${withUnit(ind.setback_m, "m", 1)}</dd></div>
      </dl>`;
  return `<li class="zone${z.is_road ? " road" : ""}" data-lot="${esc(z.lot || "")}">
    <h4>${swatch(z.land_use && z.land_use.code)}${title}</h4>${extra}${rows}</li>`;
}
function parcelBlock(parcel, withLinks) {
  const key = `${parcel.commune}/${parcel.sheet}/${parcel.parcel}`;
  // The id names the parcel even when its key is given twice in the cadastral data.
  const links = withLinks
    ? `<p><button type="button" class="link" data-parcel="${esc(key)}" data-parcel-id="${esc(parcel.id)}">${esc(t("details"))}</button></p>`
    : `<p><a class="print" href="/print/parcels/${esc(key)}.pdf?lang=${state.lang}&amp;id=${esc(parcel.id)}" target="_blank" rel="noopener">${esc(t("print"))}</a></p>`;
  return `<section class="parcel" aria-labelledby="parcel-heading">
    <h3 id="parcel-heading">${esc(t("parcelTitle"))}: ${esc(fmt(t("sheetParcel"), parcel))}</h3>
    <table class="facts"><tbody>
      <tr><th scope="row">${esc(t("communeName"))}</th><td>${esc(communeName(parcel.commune))}</td></tr>
      <tr><th scope="row">${esc(t("address"))}</th><td>${parcel.address ? esc(parcel.address) : noData()}</td></tr>
      <tr><th scope="row">${esc(t("area"))}</th><td>${withUnit(parcel.area_m2, "m²")}</td></tr>
      <tr><th scope="row">${esc(t("areaOfficial"))}</th><td>${withUnit(parcel.area_official_m2, "m²")}</td></tr>
      <tr><th scope="row">${esc(t("landUse"))}</th><td>${parcel.land_use_code ? esc(parcel.land_use_code) : noData()}</td></tr>
    </tbody></table>${links}</section>`;
}
function footer(answer) {
  return `<p class="muted">${esc(t("asOf"))} ${day(answer.date)} · ${esc(t("dataVersion"))}: ${esc(answer.data_version)}</p>
    <p class="disclaimer">${esc(answer.disclaimer ? answer.disclaimer[state.lang] : t("disclaimer"))}</p>`;
}

function renderPoint(answer) {
  const loc = answer.location;
  // Surveyors' X is the northing: VN-2000 coordinates are shown as the certificate prints them.
  const vn = loc.vn2000
    ? `<br>${esc(t("coordsVn"))} (${esc(loc.vn2000.crs)}): X = ${num(loc.vn2000.y, 3)}, Y = ${num(loc.vn2000.x, 3)}`
    : `<br>${esc(loc.plane.crs)}: E = ${num(loc.plane.x, 3)}, N = ${num(loc.plane.y, 3)}`;
  let html = `<p class="muted">${esc(t("coordsWgs"))}: ${loc.wgs84.lon.toFixed(6)}, ${loc.wgs84.lat.toFixed(6)}${vn}</p>`;
  if (answer.parcel) html += parcelBlock(answer.parcel, true);
  if (!answer.plans.length) html += `<p>${esc(t("noPlan"))}</p>`;
  for (const p of answer.plans) {
    html += `<section class="plan">${planHeader(p)}
      <h4 class="sub">${esc(t("zonesAtPoint"))}</h4>
      <ul class="zones">${p.zones.map((z) => zoneCard(z)).join("")}</ul></section>`;
  }
  if (answer.red_line) {
    html += `<p><strong>${esc(t("redLine"))}:</strong> ${esc(fmt(t("redLineFmt"), { name: answer.red_line.road_name || "—", d: Number(answer.red_line.distance_m).toLocaleString(locale(), { maximumFractionDigits: 1 }) }))}</p>`;
  }
  html += footer(answer);
  $("#panel-body").innerHTML = html;
}

function breakdownTable(p) {
  let rows = "";
  for (const z of p.zones) {
    rows += `<tr><th scope="row">${swatch(z.land_use && z.land_use.code)}${z.lot ? esc(z.lot) : noData()}</th><td>${z.function ? esc(z.function) : noData()}</td>
      <td class="num">${num(z.area_m2)}</td><td class="num">${num(z.share_pct)} %</td></tr>`;
  }
  if (p.outside_plan_m2 > 0) {
    rows += `<tr><th scope="row" colspan="2">${esc(t("outsidePlan"))}</th><td class="num">${num(p.outside_plan_m2)}</td><td class="num">${num(p.outside_plan_pct)} %</td></tr>`;
  }
  return `<div class="scroll"><table class="breakdown"><caption>${esc(t("breakdownCaption"))}</caption>
    <thead><tr><th scope="col">${esc(t("lot"))}</th><th scope="col">${esc(t("fn"))}</th><th scope="col" class="num">${esc(t("areaM2"))}</th><th scope="col" class="num">${esc(t("share"))}</th></tr></thead>
    <tbody>${rows}</tbody>
    <tfoot>
      <tr class="road"><th scope="row" colspan="2">${esc(t("roadArea"))}</th><td class="num">${num(p.road_area_m2)}</td><td class="num">${pct(p.road_area_m2, p.area_m2)}</td></tr>
      <tr><th scope="row" colspan="2">${esc(t("remaining"))}</th><td class="num">${num(p.remaining_area_m2)}</td><td class="num">${pct(p.remaining_area_m2, p.area_m2)}</td></tr>
    </tfoot></table></div>`;
}

function renderParcel(answer) {
  let html = parcelBlock(answer.parcel, false);
  if (!answer.plans.length) html += `<p>${esc(t("noPlan"))}</p>`;
  for (const p of answer.plans) {
    const cards = p.zones.map((z) => zoneCard(z, `<p class="muted">${num(z.area_m2)} m² · ${num(z.share_pct)} %</p>`)).join("");
    html += `<section class="plan">${planHeader(p)}
      <p>${esc(t("inPlan"))}: ${num(p.area_in_plan_m2)} / ${num(p.area_m2)} m² <span class="muted">(${esc(p.crs)})</span></p>
      ${breakdownTable(p)}
      <h4 class="sub">${esc(t("indicatorsTitle"))}</h4>
      <ul class="zones">${cards}</ul></section>`;
  }
  html += footer(answer);
  $("#panel-body").innerHTML = html;
}

function show(render, focus) {
  state.last = { render };
  render();
  openSheet();
  $("#panel-body").scrollTop = 0;
  $("#panel").scrollTop = 0;
  // After a search the answer is where keyboard and screen-reader users should be.
  if (focus) $("#panel").focus({ preventScroll: true });
}

// ---------- the bottom sheet (phones) ----------
function openSheet() {
  state.foldedForTools = false;
  $("#panel").classList.remove("empty", "collapsed");
  renderSheetToggle();
}
function renderSheetToggle() {
  const collapsed = $("#panel").classList.contains("collapsed");
  const btn = $("#sheet-toggle");
  btn.textContent = t(collapsed ? "sheetExpand" : "sheetCollapse");
  btn.setAttribute("aria-expanded", String(!collapsed));
}
$("#sheet-toggle").addEventListener("click", () => {
  $("#panel").classList.toggle("collapsed");
  renderSheetToggle();
});

// ---------- map ----------
const params = hashParams();
if (params.get("lang") === "en") state.lang = "en";
const basemap = document.querySelector('meta[name="planning-basemap"]')?.content;

async function buildStyle() {
  const ours = await api("/styles/planning.json");
  if (!basemap) return ours;
  try {
    // The basemap below, the planning layers (minus their background) on top.
    const base = await api(basemap);
    base.sources = { ...base.sources, ...ours.sources };
    base.layers = [...base.layers, ...ours.layers.filter((l) => l.type !== "background")];
    base.glyphs = base.glyphs || ours.glyphs;
    return base;
  } catch {
    return ours;
  }
}

let style;
try {
  style = await buildStyle();
} catch (err) {
  style = { version: 8, sources: {}, layers: [{ id: "background", type: "background", paint: { "background-color": "#F2EFE9" } }] };
  showError(err);
}
const map = new maplibregl.Map({
  container: "map",
  style,
  center: [107.5776, 16.4698],
  zoom: 14,
  hash: "map",
  locale: mapLocale(),
  attributionControl: { compact: true },
});
const mapLoaded = new Promise((resolve) => map.once("load", resolve));
map.addControl(new maplibregl.NavigationControl(), "top-right");
map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-left");
window.planningMap = map;

const EMPTY = { type: "FeatureCollection", features: [] };
mapLoaded.then(() => {
  // The selection draws above everything: the parcel (its planned-road part in red) or a point.
  map.addSource("selected", { type: "geojson", data: state.pending || EMPTY });
  map.addLayer({ id: "selected-fill", type: "fill", source: "selected", filter: ["==", ["geometry-type"], "Polygon"],
    paint: { "fill-color": ["match", ["get", "kind"], "road", "#d7191c", "#f1a208"], "fill-opacity": ["match", ["get", "kind"], "road", 0.35, 0.25] } });
  map.addLayer({ id: "selected-line", type: "line", source: "selected", filter: ["all", ["==", ["geometry-type"], "Polygon"], ["==", ["get", "kind"], "parcel"]],
    paint: { "line-color": "#d35400", "line-width": 3 } });
  map.addLayer({ id: "selected-point", type: "circle", source: "selected", filter: ["==", ["geometry-type"], "Point"],
    paint: { "circle-radius": 7, "circle-color": "#f1a208", "circle-stroke-color": "#7a2e00", "circle-stroke-width": 2 } });
  labelMapControls();
});

function highlight(data, kind) {
  const fc = data || EMPTY;
  const source = map.getSource("selected");
  if (source) source.setData(fc); else state.pending = fc;
  map.getContainer().dataset.selected = kind || "";
}

function boundsOf(geometry) {
  const b = new maplibregl.LngLatBounds();
  const walk = (c) => (typeof c[0] === "number" ? b.extend(c) : c.forEach(walk));
  walk(geometry.coordinates);
  return b;
}
// What the map should keep clear: on a phone, the bottom sheet covers the lower part of the map.
function viewPadding(base) {
  const pad = { top: base, bottom: base, left: base, right: base };
  if (PHONE.matches) {
    const edge = Math.min(base, 20);
    const mapBox = map.getContainer().getBoundingClientRect();
    const sheetTop = $("#panel").getBoundingClientRect().top;
    Object.assign(pad, { top: edge, left: edge, right: edge });
    pad.bottom = Math.max(edge, Math.min(mapBox.bottom - sheetTop + edge, mapBox.height * 0.7));
  }
  return pad;
}
function pointFeature(lon, lat) {
  return { type: "FeatureCollection", features: [{ type: "Feature", geometry: { type: "Point", coordinates: [lon, lat] }, properties: { kind: "point" } }] };
}

async function lookupPoint(lon, lat, { fly = false, focus = false } = {}) {
  const ticket = showLoading();
  try {
    const answer = await api(`/v1/lookup?lon=${lon.toFixed(7)}&lat=${lat.toFixed(7)}`);
    if (stale(ticket)) return;
    show(() => renderPoint(answer), focus);
    setHash({ point: `${lat.toFixed(6)},${lon.toFixed(6)}`, parcel: null, pid: null });
    highlight(pointFeature(lon, lat), "point");
    if (fly) map.flyTo({ center: [lon, lat], zoom: Math.max(map.getZoom(), 17), padding: viewPadding(20) });
    announce(t("foundPoint"));
  } catch (err) { if (!stale(ticket)) showError(err); }
}

function renderMatches(key, matches) {
  const items = matches.map((m) => `<li><button type="button" class="link" data-parcel="${esc(`${m.commune}/${m.sheet}/${m.parcel}`)}" data-parcel-id="${esc(m.id)}">${esc(fmt(t("sheetParcel"), m))} — ${esc(m.address || communeName(m.commune))} (${withUnit(m.area_m2, "m²")})</button></li>`).join("");
  $("#panel-body").innerHTML = `<p role="alert">${esc(fmt(t("chooseParcel"), { n: matches.length }))}</p><ul class="matches">${items}</ul>`;
}

async function openParcel(key, { fly = true, focus = false, id = null } = {}) {
  const ticket = showLoading();
  try {
    const answer = await api(`/v1/parcels/${key}?geometry=true${id ? `&id=${encodeURIComponent(id)}` : ""}`);
    if (stale(ticket)) return;
    const p = answer.parcel;
    const canonical = `${p.commune}/${p.sheet}/${p.parcel}`;
    show(() => renderParcel(answer), focus);
    setHash({ parcel: canonical, pid: p.id, point: null });
    const features = [];
    if (answer.geometry) features.push({ type: "Feature", geometry: answer.geometry, properties: { kind: "parcel" } });
    for (const plan of answer.plans) {
      for (const z of plan.zones) {
        if (z.is_road && z.geometry) features.push({ type: "Feature", geometry: z.geometry, properties: { kind: "road" } });
      }
    }
    highlight({ type: "FeatureCollection", features }, "parcel");
    if (fly && answer.geometry) map.fitBounds(boundsOf(answer.geometry), { padding: viewPadding(60), maxZoom: 19, duration: 600 });
    announce(fmt(t("foundParcel"), { what: fmt(t("sheetParcel"), p) }));
  } catch (err) {
    if (stale(ticket)) return;
    if (err.status === 300 && err.matches) {
      show(() => renderMatches(key, err.matches), focus);
      announce(fmt(t("chooseParcel"), { n: err.matches.length }));
    } else showError(err);
  }
}

async function lookupXY(x, y, province) {
  // Certificates print X = northing, Y = easting. In Vietnam's VN-2000 planes every northing
  // (over 900 000 m) is larger than every easting (under 800 000 m): a swapped pair is obvious.
  if (Number(x) < Number(y)) [x, y] = [y, x];
  const ticket = showLoading();
  try {
    const answer = await api(`/v1/lookup?x=${encodeURIComponent(x)}&y=${encodeURIComponent(y)}&province=${encodeURIComponent(province)}&axis=ne`);
    if (stale(ticket)) return;
    const { lon, lat } = answer.location.wgs84;
    show(() => renderPoint(answer), true);
    setHash({ point: `${lat.toFixed(6)},${lon.toFixed(6)}`, parcel: null, pid: null });
    highlight(pointFeature(lon, lat), "point");
    map.flyTo({ center: [lon, lat], zoom: 18, padding: viewPadding(20) });
    announce(t("foundPoint"));
  } catch (err) { if (!stale(ticket)) showError(err); }
}

map.on("click", (e) => lookupPoint(e.lngLat.lng, e.lngLat.lat));
// Keyboard users move the map with the arrows (MapLibre) and look up its centre with Enter.
map.getCanvas().setAttribute("aria-describedby", "map-help");
map.getCanvas().addEventListener("keydown", (e) => {
  if (e.key !== "Enter") return;
  e.preventDefault();
  const c = map.getCenter();
  lookupPoint(c.lng, c.lat, { focus: true });
});

// ---------- search ----------
const NUM = String.raw`(-?\d+(?:[.,]\d+)?)`;
function parseQuery(text) {
  const s = text.trim().normalize("NFC");
  const folded = s.normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/đ/gi, "d").toLowerCase();
  let m = folded.match(/\b(?:to|sheet)(?![a-z])\s*(?:so\s*)?(\w+)[\s,;.]*\b(?:thua|parcel)(?![a-z])\s*(?:so\s*)?(\w+)/);
  if (m) return { kind: "parcel", sheet: m[1], parcel: m[2] };
  const val = (v) => Number(v.replace(",", "."));
  // "X: 1821649,834  Y: 561475,812" as printed on a certificate.
  m = folded.match(new RegExp(String.raw`^x\s*[:=]?\s*${NUM}[\s,;]+y\s*[:=]?\s*${NUM}$`));
  if (m) return { kind: "xy", x: val(m[1]), y: val(m[2]) };
  m = s.match(new RegExp(String.raw`^${NUM}\s*(?:[,;]\s*|\s+)${NUM}$`));
  if (m) {
    const a = val(m[1]), b = val(m[2]);
    if (Math.abs(a) > 1000 && Math.abs(b) > 1000) {
      // VN-2000: the larger number is the northing (X on the certificate).
      return a > b ? { kind: "xy", x: a, y: b } : { kind: "xy", x: b, y: a };
    }
    if (Math.abs(a) > 90) return { kind: "lonlat", lon: a, lat: b };
    return { kind: "lonlat", lon: b, lat: a };
  }
  return { kind: "address", q: s };
}

function chosenCommune() {
  const opt = $("#commune").selectedOptions[0];
  return opt && opt.value ? { code: opt.value, current: opt.dataset.current === "1" } : null;
}

// A current ward can hold several former ones whose cadastral maps reuse sheet numbers:
// search them all and let the citizen pick. A former commune names one map: open it directly.
async function findParcel(sheet, parcel) {
  const commune = chosenCommune();
  const s = encodeURIComponent(sheet.trim()), p = encodeURIComponent(parcel.trim());
  if (commune && !commune.current) return openParcel(`${commune.code}/${s}/${p}`, { focus: true });
  try {
    const filter = commune ? `commune=${commune.code}&` : "";
    const res = await api(`/v1/parcels?${filter}sheet=${s}&parcel=${p}&limit=20`);
    listResults(res);
  } catch (err) { showError(err); }
}

async function search(text) {
  const q = parseQuery(text);
  $("#results").innerHTML = "";
  if (!q.q && q.kind === "address") return;
  if (q.kind === "parcel") return findParcel(q.sheet, q.parcel);
  if (q.kind === "xy") return lookupXY(q.x, q.y, $("#province").value);
  if (q.kind === "lonlat") return lookupPoint(q.lon, q.lat, { fly: true, focus: true });
  try {
    listResults(await api(`/v1/parcels?q=${encodeURIComponent(q.q)}&limit=20`));
  } catch (err) { showError(err); }
}

function listResults(page) {
  const items = page.items;
  if (!items.length) {
    $("#results").innerHTML = `<p role="alert">${esc(t("noResult"))}</p>`;
    return;
  }
  if (items.length === 1) { openParcel(`${items[0].commune}/${items[0].sheet}/${items[0].parcel}`, { focus: true, id: items[0].id }); return; }
  const more = page.total > items.length ? `<p class="muted">${esc(fmt(t("resultsMore"), { n: page.total }))}</p>` : "";
  $("#results").innerHTML = `<h3 id="results-title" tabindex="-1">${esc(fmt(t("results"), { n: page.total }))}</h3>${more}
    <ul aria-labelledby="results-title">${items.map((p) => `<li><button type="button" class="link" data-parcel="${esc(`${p.commune}/${p.sheet}/${p.parcel}`)}" data-parcel-id="${esc(p.id)}">${esc(fmt(t("sheetParcel"), p))} — ${esc(p.address || communeName(p.commune))}</button></li>`).join("")}</ul>`;
  $("#results-title").focus();
  announce(fmt(t("results"), { n: page.total }));
}

// On a phone the search area shares the screen with the map and the sheet: give the room back.
function makeRoom() {
  if (!PHONE.matches) return;
  $("#more").open = false;
  $("#results").innerHTML = "";
}

document.addEventListener("click", (e) => {
  const target = e.target.closest("[data-parcel]");
  if (target) {
    e.preventDefault();
    if (target.closest("#results")) makeRoom();
    openParcel(target.dataset.parcel, { focus: true, id: target.dataset.parcelId || null });
  }
});
$("#quick").addEventListener("submit", (e) => { e.preventDefault(); search($("#q").value); });
$("#parcel-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const f = new FormData(e.target);
  $("#results").innerHTML = "";
  makeRoom();
  findParcel(String(f.get("sheet")), String(f.get("parcel")));
});
$("#coord-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const f = new FormData(e.target);
  $("#results").innerHTML = "";
  makeRoom();
  lookupXY(String(f.get("x")).trim().replace(",", "."), String(f.get("y")).trim().replace(",", "."), f.get("province"));
});
$("#lang").addEventListener("click", () => {
  state.lang = state.lang === "vi" ? "en" : "vi";
  setHash({ lang: state.lang === "vi" ? null : "en" });
  applyTexts();
  const link = $("#panel a.print");
  if (link) link.href = link.href.replace(/lang=\w+/, `lang=${state.lang}`);
});
$("#tools-toggle").addEventListener("click", (e) => {
  const open = $("#tools").classList.toggle("open");
  e.currentTarget.setAttribute("aria-expanded", String(open));
  // On a phone the layers and the answer would cover the whole map: fold the sheet meanwhile.
  const panel = $("#panel");
  if (open && PHONE.matches && !panel.classList.contains("empty") && !panel.classList.contains("collapsed")) {
    panel.classList.add("collapsed");
    state.foldedForTools = true;
  } else if (!open && state.foldedForTools) {
    panel.classList.remove("collapsed");
    state.foldedForTools = false;
  }
  renderSheetToggle();
});
$("#locate").addEventListener("click", () => {
  if (!navigator.geolocation) { showError({ key: "geoUnavailable" }); return; }
  announce(t("locating"));
  navigator.geolocation.getCurrentPosition(
    (pos) => lookupPoint(pos.coords.longitude, pos.coords.latitude, { fly: true, focus: true }),
    () => showError({ key: "geoUnavailable" }),
    { enableHighAccuracy: true, timeout: 10000 },
  );
});

// ---------- layers, legend, communes ----------
function applyLayers() {
  for (const [group, ids] of Object.entries(LAYER_GROUPS)) {
    for (const id of ids) {
      if (map.getLayer(id)) map.setLayoutProperty(id, "visibility", state.layers.has(group) ? "visible" : "none");
    }
  }
}
function renderLayers() {
  const box = $("#layers");
  box.querySelectorAll("label").forEach((l) => l.remove());
  for (const group of Object.keys(LAYER_GROUPS)) {
    const label = document.createElement("label");
    label.innerHTML = `<input type="checkbox" name="layer" value="${group}" ${state.layers.has(group) ? "checked" : ""}> ${esc(t(LAYER_LABELS[group]))}`;
    label.querySelector("input").addEventListener("change", (e) => {
      if (e.target.checked) state.layers.add(group); else state.layers.delete(group);
      setHash({ layers: [...state.layers].join(",") });
      applyLayers();
    });
    box.appendChild(label);
  }
}
function renderLegend() {
  if (!state.legend) return;
  const L = state.legend;
  $("#legend").innerHTML = `<h3>${esc(L.title[state.lang])}</h3><ul>
    ${L.land_use.map((c) => `<li><span class="swatch" aria-hidden="true" style="background:${esc(c.color)}"></span>${esc(c[state.lang])} (${esc(c.code)})</li>`).join("")}
    ${L.lines.map((l) => `<li><span class="swatch line ${esc(l.id)}" aria-hidden="true" style="background:${esc(l.color)}"></span>${esc(l[state.lang])}</li>`).join("")}</ul>`;
}
function renderCommunes() {
  const sel = $("#commune");
  const chosen = sel.selectedIndex;
  const option = (c) => {
    const when = c.current ? t("current") : `${t("former")}${c.became_names.length ? `, ${fmt(t("becameFmt"), { names: c.became_names.join(", ") })}` : ""}`;
    return `<option value="${esc(c.code)}" data-current="${c.current ? 1 : 0}">${esc(c.name)} (${esc(c.code)}) — ${esc(when)}</option>`;
  };
  const group = (label, list) => (list.length ? `<optgroup label="${esc(label)}">${list.map(option).join("")}</optgroup>` : "");
  const withParcels = state.communes.filter((c) => c.has_parcels);
  sel.innerHTML = `<option value="">${esc(t("chooseCommune"))}</option>`
    + group(t("groupWithParcels"), withParcels)
    + group(t("groupCurrent"), state.communes.filter((c) => !c.has_parcels && c.current))
    + group(t("groupFormer"), state.communes.filter((c) => !c.has_parcels && !c.current));
  sel.selectedIndex = Math.max(chosen, 0); // same order in both languages
}

async function start() {
  if (params.get("layers") !== null) state.layers = new Set(params.get("layers").split(",").filter((g) => g in LAYER_GROUPS));
  const [legend, communes] = await Promise.all([
    api("/v1/legend").catch(() => null),
    api("/v1/communes?province=46").catch(() => []),
  ]);
  state.legend = legend;
  // Within each group: current first, then by name (the server's order).
  state.communes = communes;
  applyTexts();
  await mapLoaded;
  applyLayers();
  const fly = !params.get("map");
  if (params.get("parcel")) openParcel(params.get("parcel"), { fly, id: params.get("pid") });
  else if (params.get("point")) {
    const [lat, lon] = params.get("point").split(",").map(Number);
    if (Number.isFinite(lat) && Number.isFinite(lon)) lookupPoint(lon, lat, { fly });
  }
}
start();
