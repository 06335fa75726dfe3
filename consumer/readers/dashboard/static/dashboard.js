// The learnstream dashboard page. It only draws: every number comes from the server's JSON
// panels (computed by DuckDB), and every text from the data is set with textContent (names
// come from webhooks and may hold markup). Filter state lives in the URL, so a link
// reproduces the view; the page polls api/version and redraws on a newer snapshot.
"use strict";
(function () {
  const TABS = {
    "overview": ["courses", "funnel_between", "ordered_funnel", "engagement", "stickiness",
                 "retention"],
    "course": ["lessons", "completion", "time_to_complete"],
    "at-risk": ["at_risk"],
    "quality": ["freshness", "duplicates", "dead_letters", "unknown_events", "late_events"],
    "sales": ["purchase_funnel", "buyers_not_started", "refunds_by_progress",
              "time_to_first_lesson", "revenue_per_completion"],
  };
  const WIDE = new Set(["courses", "lessons", "at_risk", "freshness", "retention",
                        "purchase_funnel", "buyers_not_started",
                        "revenue_per_completion"]);
  const FILTERS = ["course", "school", "platform", "from", "to", "window_days", "min_days"];
  const body = document.body;
  const refresh = Math.max(0.2, Number(body.dataset.refresh) || 5) * 1000;
  let version = null;
  let generation = 0;

  function params() { return new URLSearchParams(location.search); }
  function tab() { const t = params().get("tab"); return t in TABS ? t : "overview"; }
  function filterQuery() {
    const p = params(), q = new URLSearchParams();
    for (const k of FILTERS) { const v = p.get(k); if (v) q.set(k, v); }
    return q;
  }
  function linkTo(changes) {
    const p = params();
    for (const [k, v] of Object.entries(changes)) {
      if (v === null || v === "") p.delete(k); else p.set(k, v);
    }
    return "?" + p.toString();
  }
  function navigate(changes) {
    history.pushState(null, "", linkTo(changes));
    load();
  }
  function el(tag, className, text) {
    const e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function show(value) {
    if (value === null || value === undefined) return "";
    if (typeof value === "object") return JSON.stringify(value);
    return String(value);
  }
  function status(text) { document.getElementById("status").textContent = text || ""; }

  function section(name) {
    let s = document.getElementById("panel-" + name);
    if (!s) {
      s = el("section", "panel" + (WIDE.has(name) ? " wide" : ""));
      s.id = "panel-" + name;
    }
    if (!s.querySelector(".title")) {
      s.dataset.panel = name;
      for (const [tag, cls] of [["h2", "title"], ["p", "error"], ["p", "note"],
                                ["dl", "numbers"], ["div", "figure"], ["p", "download"],
                                ["div", "table"]]) {
        s.append(el(tag, cls));
      }
      s.querySelector(".figure").id = "figure-" + name;
    }
    return s;
  }

  function renderTable(box, t) {
    box.replaceChildren();
    if (!t) return;
    const table = el("table"), head = el("tr"), tbody = el("tbody");
    for (const c of t.columns) head.append(el("th", "", c));
    table.append(el("thead")); table.tHead.append(head); table.append(tbody);
    const link = t.link ? t.columns.indexOf(t.link) : -1;
    const chosen = params().get("course");
    for (const row of t.rows) {
      const tr = el("tr");
      row.forEach((v, i) => {
        const td = el("td", typeof v === "number" ? "num" : "");
        if (i === link && v !== null) {
          const a = el("a", "", show(v));
          a.href = linkTo({course: v});
          a.addEventListener("click", (ev) => { ev.preventDefault(); navigate({course: v}); });
          td.append(a);
          if (v === chosen) tr.className = "selected";
        } else {
          td.textContent = show(v);
        }
        tr.append(td);
      });
      tbody.append(tr);
    }
    if (t.rows.length === 0) {
      table.append(el("caption", "", "no rows"));
    } else if (t.total > t.rows.length) {
      table.append(el("caption", "", `first ${t.rows.length} of ${t.total} rows`));
    }
    box.append(table);
  }

  function render(name, p) {
    const s = section(name);
    s.querySelector(".title").textContent = p.title;
    s.querySelector(".error").textContent = p.error || "";
    const note = s.querySelector(".note");
    note.textContent = p.note || "";
    note.classList.toggle("idle", Boolean(p.idle));
    const dl = s.querySelector(".numbers");
    dl.replaceChildren();
    for (const [k, v] of p.numbers || []) {
      const d = el("div");
      d.append(el("dt", "", k), el("dd", "", show(v)));
      dl.append(d);
    }
    const fig = s.querySelector(".figure");
    if (p.figure && p.clickable) {
      // The chosen course's bar stands out (the server sends the same figure for every
      // course, so a click costs it nothing).
      const chosen = params().get("course");
      for (const trace of p.figure.data) {
        trace.marker = {...trace.marker, color: (trace.customdata || []).map(
          (key) => key === chosen ? "#f59e0b" : trace.marker.color)};
      }
    }
    if (p.figure) {
      Plotly.react(fig, p.figure.data, p.figure.layout,
                   {displayModeBar: false, responsive: true});
      if (p.clickable && !fig.dataset.clickable) {
        fig.dataset.clickable = "1";
        fig.on("plotly_click", (ev) => {
          const key = ev.points && ev.points[0] && ev.points[0].customdata;
          if (typeof key === "string") navigate({course: key});
        });
      }
    } else if (fig.dataset.drawn) {
      Plotly.purge(fig);
    }
    fig.dataset.drawn = p.figure ? "1" : "";
    const download = s.querySelector(".download");
    download.replaceChildren();
    if (p.csv) {
      // A panel names its CSV (at-risk.csv when it just says it has one).
      const file = typeof p.csv === "string" ? p.csv : "at-risk.csv";
      const a = el("a", "", "Download all rows as CSV");
      a.href = file + "?" + filterQuery().toString();
      a.download = file;
      download.append(a);
    }
    renderTable(s.querySelector(".table"), p.table);
    s.dataset.rendered = version;
    return s;
  }

  function syncForm(choices) {
    const form = document.getElementById("filters"), p = params();
    const fill = (name, items, all) => {
      const select = form.elements[name];
      const options = [new Option(all, "")];
      for (const item of items) {
        const [value, text] = Array.isArray(item) ? item : [item, item];
        options.push(new Option(text && text !== value ? `${text} (${value})` : value, value));
      }
      select.replaceChildren(...options);
    };
    if (choices) {
      fill("course", choices.course, "all courses");
      fill("school", choices.school, "all schools");
      fill("platform", choices.platform, "all platforms");
    }
    for (const k of FILTERS) {
      const field = form.elements[k];
      const v = p.get(k) || "";
      if (field.tagName === "SELECT" && v && ![...field.options].some((o) => o.value === v)) {
        field.append(new Option(v, v));  // a course of another school: keep it shown
      }
      field.value = v;
    }
  }

  function syncTabs() {
    const current = tab();
    for (const a of document.querySelectorAll("#tabs a")) {
      a.href = linkTo({tab: a.dataset.tab === "overview" ? null : a.dataset.tab});
      a.classList.toggle("active", a.dataset.tab === current);
    }
  }

  async function load() {
    const mine = ++generation;
    body.dataset.state = "loading";
    const names = ["header", "courses", ...TABS[tab()].filter((n) => n !== "courses")];
    const q = filterQuery();
    q.set("names", names.join(","));
    let response, data;
    try {
      response = await fetch("api/panels?" + q.toString(), {credentials: "same-origin"});
      data = await response.json();
    } catch (err) {
      if (mine === generation) { status("cannot reach the dashboard: " + err); body.dataset.state = "error"; }
      return;
    }
    if (mine !== generation) return;  // a newer click is on its way
    syncTabs();
    if (!response.ok) {
      status(data.error || response.statusText);
      body.dataset.state = "error";
      return;
    }
    status("");
    version = data.version;
    body.dataset.version = version;
    syncForm(data.panels.courses.choices);
    const main = document.getElementById("panels");
    const shown = tab() === "overview" ? names.slice(1) : names.slice(2);
    for (const old of [...main.children]) {
      if (!shown.includes(old.dataset.panel)) { Plotly.purge(old.querySelector(".figure")); old.remove(); }
    }
    render("header", data.panels.header);
    for (const name of shown) {
      main.append(section(name));  // in the page first: plotly sizes a chart to its box
      render(name, data.panels[name]);
    }
    body.dataset.state = "ready";
  }

  async function poll() {
    try {
      const response = await fetch("api/version", {credentials: "same-origin"});
      const data = await response.json();
      if (data.version && data.version !== version && body.dataset.state !== "loading") {
        await load();
      }
    } catch (err) {
      status("cannot reach the dashboard: " + err);
    } finally {
      setTimeout(poll, refresh);
    }
  }

  document.getElementById("filters").addEventListener("change", (ev) => {
    const field = ev.target;
    if (field.validity && !field.validity.valid) { status(`${field.name}: ${field.validationMessage}`); return; }
    navigate({[field.name]: field.value});
  });
  document.getElementById("clear").addEventListener("click", () => {
    navigate(Object.fromEntries(FILTERS.map((k) => [k, null])));
  });
  document.getElementById("tabs").addEventListener("click", (ev) => {
    const a = ev.target.closest("a");
    if (!a) return;
    ev.preventDefault();
    navigate({tab: a.dataset.tab === "overview" ? null : a.dataset.tab});
  });
  window.addEventListener("popstate", load);
  load().then(() => setTimeout(poll, refresh));
})();
