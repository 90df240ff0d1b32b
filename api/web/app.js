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
const state = { lang: "vi", last: null, legend: null, communes: [], layers: new Set(Object.keys(LAYER_GROUPS)) };
const $ = (sel) => document.querySelector(sel);
const t = (key) => TEXTS[state.lang][key] ?? key;

function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}
function num(value, digits = 2) {
  if (value === null || value === undefined) return `<span class="muted">${esc(t("noData"))}</span>`;
  return Number(value).toLocaleString(state.lang === "vi" ? "vi-VN" : "en-GB", { maximumFractionDigits: digits });
}
function floors(ind) {
  if (ind.floors_min == null && ind.floors_max == null) return num(null);
  if (ind.floors_min != null && ind.floors_max != null && ind.floors_min !== ind.floors_max) return `${num(ind.floors_min, 0)}–${num(ind.floors_max, 0)}`;
  return num(ind.floors_max ?? ind.floors_min, 0);
}
function withUnit(value, unit, digits = 2) {
  return value == null ? num(null) : `${num(value, digits)} ${unit}`;
}

// ---------- hash (deep links): #map=z/lat/lon&parcel=c/s/p | &point=lat,lon &layers=a,b ----------
function hashParams() {
  return new URLSearchParams(location.hash.replace(/^#/, ""));
}
function setHash(changes) {
  const params = hashParams();
  for (const [k, v] of Object.entries(changes)) {
    if (v === null) params.delete(k); else params.set(k, v);
  }
  const text = params.toString().replace(/%2F/g, "/").replace(/%2C/g, ",");
  history.replaceState(null, "", `#${text}`);
}

// ---------- texts ----------
function applyTexts() {
  document.documentElement.lang = state.lang;
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  document.querySelectorAll("[data-i18n-placeholder]").forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder); });
  document.querySelectorAll("[data-i18n-aria]").forEach((el) => { el.setAttribute("aria-label", t(el.dataset.i18nAria)); });
  const btn = $("#lang");
  btn.textContent = t("langButton");
  btn.setAttribute("aria-label", t("langLabel"));
  btn.setAttribute("lang", state.lang === "vi" ? "en" : "vi");
  renderLayers();
  renderLegend();
  renderCommunes();
  if (state.last) state.last.render();
}

// ---------- API ----------
async function api(path, options) {
  const res = await fetch(path, options);
  let body = null;
  try { body = await res.json(); } catch { body = null; }
  if (!res.ok) {
    const detail = body && body.detail ? (typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail)) : res.statusText;
    throw new Error(detail);
  }
  return body;
}

function showError(err) {
  $("#panel-body").innerHTML = `<p class="error" role="alert">${esc(t("error"))}: ${esc(err.message)}</p>`;
  $("#panel").classList.remove("empty");
}
function showLoading() {
  $("#panel-body").innerHTML = `<p>${esc(t("loading"))}</p>`;
}

// ---------- panel rendering ----------
function planHeader(p) {
  const plan = p.plan;
  const level = plan.level_name ? plan.level_name[state.lang] : plan.level;
  const decision = plan.decision ? `${esc(t("decision"))} ${esc(plan.decision)}${plan.decision_date ? ` ${esc(t("decisionDate"))} ${esc(plan.decision_date)}` : ""}` : "";
  return `<h3>${esc(plan.name || plan.code)}</h3>
    <p class="muted">${esc(level)}${plan.scale ? ` · ${esc(plan.scale)}` : ""}${decision ? ` · ${decision}` : ""}</p>`;
}
function categoryName(z) {
  if (!z.land_use) return num(null);
  return esc(state.lang === "vi" ? z.land_use.name_vi : z.land_use.name_en);
}
function indicatorCells(ind) {
  return `<td class="num">${withUnit(ind.density_max, "%", 1)}</td><td class="num">${floors(ind)}</td>
    <td class="num">${num(ind.far_max)}</td><td class="num">${withUnit(ind.height_max_m, "m", 1)}</td><td class="num">${withUnit(ind.setback_m, "m", 1)}</td>`;
}
function indicatorHeads() {
  return `<th scope="col" class="num">${esc(t("density"))}</th><th scope="col" class="num">${esc(t("floors"))}</th>
    <th scope="col" class="num">${esc(t("far"))}</th><th scope="col" class="num">${esc(t("height"))}</th><th scope="col" class="num">${esc(t("setback"))}</th>`;
}
function parcelBlock(parcel, withLinks) {
  const key = `${parcel.commune}/${parcel.sheet}/${parcel.parcel}`;
  const links = withLinks
    ? `<p><button type="button" class="link" data-parcel="${esc(key)}">${esc(t("details"))}</button></p>`
    : `<p><a href="/print/parcels/${esc(key)}.pdf?lang=${state.lang}" target="_blank" rel="noopener">${esc(t("print"))}</a></p>`;
  return `<section class="parcel" aria-label="${esc(t("parcelTitle"))}">
    <h3>${esc(t("parcelTitle"))}: ${esc(fmt(t("sheetParcel"), parcel))}</h3>
    <table><tbody>
      <tr><th scope="row">${esc(t("communeCode"))}</th><td>${esc(parcel.commune)}</td></tr>
      <tr><th scope="row">${esc(t("address"))}</th><td>${parcel.address ? esc(parcel.address) : num(null)}</td></tr>
      <tr><th scope="row">${esc(t("area"))}</th><td>${withUnit(parcel.area_m2, "m²")}</td></tr>
      <tr><th scope="row">${esc(t("areaOfficial"))}</th><td>${withUnit(parcel.area_official_m2, "m²")}</td></tr>
      <tr><th scope="row">${esc(t("landUse"))}</th><td>${parcel.land_use_code ? esc(parcel.land_use_code) : num(null)}</td></tr>
    </tbody></table>${links}</section>`;
}
function footer(answer) {
  return `<p class="muted">${esc(t("dataVersion"))}: ${esc(answer.data_version)}</p>
    <p class="disclaimer">${esc(answer.disclaimer ? answer.disclaimer[state.lang] : t("disclaimer"))}</p>`;
}

function renderPoint(answer) {
  const loc = answer.location;
  let html = `<p class="muted">${esc(t("coordsWgs"))}: ${loc.wgs84.lon.toFixed(6)}, ${loc.wgs84.lat.toFixed(6)}<br>
    ${esc(t("coordsVn"))} (${esc(loc.vn2000.crs)}): X = ${num(loc.vn2000.y, 3)}, Y = ${num(loc.vn2000.x, 3)}</p>`;
  if (answer.parcel) html += parcelBlock(answer.parcel, true);
  if (!answer.plans.length) html += `<p>${esc(t("noPlan"))}</p>`;
  for (const p of answer.plans) {
    html += `<section class="plan">${planHeader(p)}<div class="scroll"><table>
      <caption class="sr-only">${esc(t("plan"))} ${esc(p.plan.code)}</caption>
      <thead><tr><th scope="col">${esc(t("lot"))}</th><th scope="col">${esc(t("fn"))}</th><th scope="col">${esc(t("category"))}</th>${indicatorHeads()}</tr></thead><tbody>`;
    for (const z of p.zones) {
      html += `<tr><td>${z.lot ? esc(z.lot) : num(null)}</td><td>${z.function ? esc(z.function) : num(null)}</td><td>${categoryName(z)}</td>${indicatorCells(z.indicators)}</tr>`;
    }
    html += `</tbody></table></div></section>`;
  }
  if (answer.red_line) {
    html += `<p><strong>${esc(t("redLine"))}:</strong> ${esc(fmt(t("redLineFmt"), { name: answer.red_line.road_name || "—", d: num(answer.red_line.distance_m, 1) }))}</p>`;
  }
  html += footer(answer);
  $("#panel-body").innerHTML = html;
}

function renderParcel(answer) {
  let html = parcelBlock(answer.parcel, false);
  if (!answer.plans.length) html += `<p>${esc(t("noPlan"))}</p>`;
  for (const p of answer.plans) {
    html += `<section class="plan">${planHeader(p)}
      <p class="muted">${esc(t("areaM2"))}: ${num(p.area_in_plan_m2)} / ${num(p.area_m2)} (${esc(p.crs)})</p>
      <div class="scroll"><table><caption class="sr-only">${esc(t("plan"))} ${esc(p.plan.code)}</caption>
      <thead><tr><th scope="col">${esc(t("lot"))}</th><th scope="col">${esc(t("fn"))}</th><th scope="col" class="num">${esc(t("areaM2"))}</th><th scope="col" class="num">${esc(t("share"))}</th>${indicatorHeads()}</tr></thead><tbody>`;
    for (const z of p.zones) {
      html += `<tr><td>${z.lot ? esc(z.lot) : num(null)}</td><td>${z.function ? esc(z.function) : num(null)}</td>
        <td class="num">${num(z.area_m2)}</td><td class="num">${num(z.share_pct)} %</td>${indicatorCells(z.indicators)}</tr>`;
    }
    if (p.outside_plan_m2 > 0) {
      html += `<tr><td colspan="2">${esc(t("outsidePlan"))}</td><td class="num">${num(p.outside_plan_m2)}</td><td class="num">${num(p.outside_plan_pct)} %</td><td colspan="5"></td></tr>`;
    }
    html += `</tbody></table></div>
      <p><strong>${esc(t("roadArea"))}:</strong> ${withUnit(p.road_area_m2, "m²")}<br>
      <strong>${esc(t("remaining"))}:</strong> ${withUnit(p.remaining_area_m2, "m²")}</p></section>`;
  }
  html += footer(answer);
  $("#panel-body").innerHTML = html;
}

function show(render) {
  state.last = { render };
  render();
  $("#panel").classList.remove("empty");
}

// ---------- map ----------
const params = hashParams();
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

const map = new maplibregl.Map({
  container: "map",
  style: await buildStyle(),
  center: [107.5776, 16.4698],
  zoom: 14,
  hash: "map",
  attributionControl: { compact: true },
});
map.addControl(new maplibregl.NavigationControl(), "top-right");
map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-left");
window.planningMap = map;

function highlight(geojson, kind) {
  const data = geojson || { type: "FeatureCollection", features: [] };
  const source = map.getSource("selected");
  if (source) source.setData(data);
  else if (map.isStyleLoaded()) {
    map.addSource("selected", { type: "geojson", data });
    map.addLayer({ id: "selected-fill", type: "fill", source: "selected", paint: { "fill-color": "#f1a208", "fill-opacity": 0.25 } });
    map.addLayer({ id: "selected-line", type: "line", source: "selected", paint: { "line-color": "#d35400", "line-width": 3 } });
  }
  map.getContainer().dataset.selected = kind || "";
}

function boundsOf(geometry) {
  const b = new maplibregl.LngLatBounds();
  const walk = (c) => (typeof c[0] === "number" ? b.extend(c) : c.forEach(walk));
  walk(geometry.coordinates);
  return b;
}

async function lookupPoint(lon, lat, fly) {
  showLoading();
  try {
    const answer = await api(`/v1/lookup?lon=${lon.toFixed(7)}&lat=${lat.toFixed(7)}`);
    show(() => renderPoint(answer));
    setHash({ point: `${lat.toFixed(6)},${lon.toFixed(6)}`, parcel: null });
    highlight({ type: "Feature", geometry: { type: "Point", coordinates: [lon, lat] }, properties: {} }, "point");
    if (fly) map.flyTo({ center: [lon, lat], zoom: Math.max(map.getZoom(), 17) });
  } catch (err) { showError(err); }
}

async function openParcel(key, fly = true) {
  showLoading();
  try {
    const answer = await api(`/v1/parcels/${key}?geometry=true`);
    show(() => renderParcel(answer));
    setHash({ parcel: key, point: null });
    highlight({ type: "Feature", geometry: answer.geometry, properties: {} }, "parcel");
    if (fly && answer.geometry) map.fitBounds(boundsOf(answer.geometry), { padding: 60, maxZoom: 19, duration: 600 });
  } catch (err) { showError(err); }
}

async function lookupXY(x, y, province) {
  // Certificates print X = northing, Y = easting.
  showLoading();
  try {
    const answer = await api(`/v1/lookup?x=${encodeURIComponent(x)}&y=${encodeURIComponent(y)}&province=${encodeURIComponent(province)}&axis=ne`);
    const { lon, lat } = answer.location.wgs84;
    show(() => renderPoint(answer));
    setHash({ point: `${lat.toFixed(6)},${lon.toFixed(6)}`, parcel: null });
    highlight({ type: "Feature", geometry: { type: "Point", coordinates: [lon, lat] }, properties: {} }, "point");
    map.flyTo({ center: [lon, lat], zoom: 18 });
  } catch (err) { showError(err); }
}

map.on("click", (e) => lookupPoint(e.lngLat.lng, e.lngLat.lat, false));

// ---------- search ----------
function parseQuery(text) {
  const s = text.trim().normalize("NFC");
  const folded = s.normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/đ/gi, "d").toLowerCase();
  let m = folded.match(/(?:to|sheet)\s*(?:so\s*)?(\w+)[\s,;]*(?:thua|parcel)\s*(?:so\s*)?(\w+)/);
  if (m) return { kind: "parcel", sheet: m[1], parcel: m[2] };
  m = s.match(/^\s*(-?\d+(?:[.,]\d+)?)\s*[,; ]\s*(-?\d+(?:[.,]\d+)?)\s*$/);
  if (m) {
    const a = Number(m[1].replace(",", ".")), b = Number(m[2].replace(",", "."));
    if (Math.abs(a) > 1000 && Math.abs(b) > 1000) {
      // VN-2000: the larger number is the northing (X on the certificate).
      return a > b ? { kind: "xy", x: a, y: b } : { kind: "xy", x: b, y: a };
    }
    if (Math.abs(a) > 90) return { kind: "lonlat", lon: a, lat: b };
    return { kind: "lonlat", lon: b, lat: a };
  }
  return { kind: "address", q: s };
}

async function search(text) {
  const q = parseQuery(text);
  $("#results").innerHTML = "";
  if (q.kind === "parcel") {
    const commune = $("#commune").value;
    if (!commune) {
      const res = await api(`/v1/parcels?sheet=${encodeURIComponent(q.sheet)}&parcel=${encodeURIComponent(q.parcel)}&limit=20`).catch(showError);
      return res && listResults(res.items);
    }
    return openParcel(`${commune}/${encodeURIComponent(q.sheet)}/${encodeURIComponent(q.parcel)}`);
  }
  if (q.kind === "xy") return lookupXY(q.x, q.y, $("#province").value);
  if (q.kind === "lonlat") return lookupPoint(q.lon, q.lat, true);
  try {
    const res = await api(`/v1/parcels?q=${encodeURIComponent(q.q)}&limit=20`);
    listResults(res.items);
  } catch (err) { showError(err); }
}

function listResults(items) {
  if (!items.length) { $("#results").innerHTML = `<p>${esc(t("noResult"))}</p>`; return; }
  if (items.length === 1) { openParcel(`${items[0].commune}/${items[0].sheet}/${items[0].parcel}`); return; }
  $("#results").innerHTML = `<h3>${esc(t("results"))}</h3><ul>${items.map((p) => `<li><button type="button" class="link" data-parcel="${esc(`${p.commune}/${p.sheet}/${p.parcel}`)}">${esc(fmt(t("sheetParcel"), p))} — ${esc(p.address || p.commune)}</button></li>`).join("")}</ul>`;
}

document.addEventListener("click", (e) => {
  const target = e.target.closest("[data-parcel]");
  if (target) { e.preventDefault(); openParcel(target.dataset.parcel); }
});
$("#quick").addEventListener("submit", (e) => { e.preventDefault(); search($("#q").value); });
$("#parcel-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const f = new FormData(e.target);
  openParcel(`${f.get("commune")}/${encodeURIComponent(f.get("sheet").trim())}/${encodeURIComponent(f.get("parcel").trim())}`);
});
$("#coord-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const f = new FormData(e.target);
  lookupXY(String(f.get("x")).replace(",", "."), String(f.get("y")).replace(",", "."), f.get("province"));
});
$("#lang").addEventListener("click", () => {
  state.lang = state.lang === "vi" ? "en" : "vi";
  setHash({ lang: state.lang === "vi" ? null : "en" });
  applyTexts();
});
$("#tools-toggle").addEventListener("click", (e) => {
  const open = $("#tools").classList.toggle("open");
  e.target.setAttribute("aria-expanded", String(open));
});
$("#locate").addEventListener("click", () => {
  if (!navigator.geolocation) { showError(new Error(t("geoUnavailable"))); return; }
  navigator.geolocation.getCurrentPosition(
    (pos) => lookupPoint(pos.coords.longitude, pos.coords.latitude, true),
    () => showError(new Error(t("geoUnavailable"))),
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
    label.innerHTML = `<input type="checkbox" value="${group}" ${state.layers.has(group) ? "checked" : ""}> ${esc(t(LAYER_LABELS[group]))}`;
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
    ${L.land_use.map((c) => `<li><span class="swatch" style="background:${esc(c.color)}"></span>${esc(c.code)} — ${esc(c[state.lang])}</li>`).join("")}
    ${L.lines.map((l) => `<li><span class="swatch line" style="background:${esc(l.color)}"></span>${esc(l[state.lang])}</li>`).join("")}</ul>`;
}
function renderCommunes() {
  const sel = $("#commune");
  const chosen = sel.value;
  const opts = [`<option value="">${esc(t("chooseCommune"))}</option>`];
  for (const c of state.communes) {
    const when = c.current ? t("current") : `${t("former")}${c.became_names.length ? ", " + fmt(t("becameFmt"), { names: c.became_names.join(", ") }) : ""}`;
    opts.push(`<option value="${esc(c.code)}">${esc(c.name)} (${esc(c.code)}, ${esc(when)})</option>`);
  }
  sel.innerHTML = opts.join("");
  sel.value = chosen;
}

async function start() {
  if (params.get("lang") === "en") state.lang = "en";
  if (params.get("layers") !== null) state.layers = new Set(params.get("layers").split(",").filter((g) => g in LAYER_GROUPS));
  const [legend, communes] = await Promise.all([
    api("/v1/legend").catch(() => null),
    api("/v1/communes?province=46").catch(() => []),
  ]);
  state.legend = legend;
  // Communes with parcels first: those are the ones a search can find.
  state.communes = communes.sort((a, b) => (b.has_parcels - a.has_parcels) || (b.current - a.current));
  applyTexts();
  if (!$("#panel-body").dataset.filled) $("#panel").classList.add("empty");
  const restore = () => {
    applyLayers();
    if (params.get("parcel")) openParcel(params.get("parcel"), !params.get("map"));
    else if (params.get("point")) {
      const [lat, lon] = params.get("point").split(",").map(Number);
      if (Number.isFinite(lat) && Number.isFinite(lon)) lookupPoint(lon, lat, !params.get("map"));
    }
  };
  if (map.isStyleLoaded()) restore(); else map.once("load", restore);
}
start();
