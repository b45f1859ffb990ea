// The dialer's dashboard: reads /dashboard/data every few seconds and draws it (plain DOM and SVG,
// no library). Text from the server is only ever set as textContent, never parsed as HTML.
"use strict";

(function () {
  const script = document.currentScript;
  const DATA_URL = script.dataset.dataUrl;
  const SIGN_IN_URL = script.dataset.signInUrl;
  const REFRESH_MS = Number(script.dataset.refreshSeconds || 5) * 1000;
  const CSRF = document.querySelector('meta[name="csrf-token"]').content;
  const STATUSES = ["ended", "failed", "removed", "dialed", "queued", "agent_pending", "stopped", "pending"];
  const SVG = "http://www.w3.org/2000/svg";
  const COLORS = {
    ANSWERED: "#2e7d32", BUSY: "#f9a825", NO_ANSWER: "#90a4ae", REJECTED: "#ef6c00", UNREACHABLE: "#6d4c41",
    TEMPORARY: "#7e57c2", GATEWAY: "#c62828", SWITCH_DOWN: "#b71c1c", LOST: "#455a64", MACHINE: "#00838f",
    ABANDONED: "#ad1457",
  };
  let timer = null;
  let shown = null;  // the last data drawn, drawn again when the window is resized

  function $(id) { return document.getElementById(id); }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (name === "text") node.textContent = value;
      else node.setAttribute(name, value);
    }
    node.append(...children);
    return node;
  }

  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function percent(part, whole) { return whole > 0 ? (100 * part / whole) : 0; }

  function bar(className, share) {
    const span = el("span", { class: className });
    span.style.width = share.toFixed(2) + "%";
    return span;
  }

  // Charts are drawn at their container's width in pixels, so their text keeps its size on any screen.
  function widthOf(id) { return Math.max(200, Math.floor($(id).clientWidth)); }

  function stateClass(state) { return state === "ok" ? "state ok" : "state bad"; }

  function drawHealth(data) {
    const rows = [["database", data.health.database], ["broker", data.health.broker], ["voice connector", data.health.vc]];
    for (const s of data.switches) rows.push(["switch " + s.name, s.health]);
    $("health-list").replaceChildren(...rows.map(([name, state]) =>
      el("li", { "data-check": name }, el("span", { text: name }), el("span", { class: stateClass(state), text: state }))));
  }

  function drawSwitches(data) {
    $("switch-list").replaceChildren(...data.switches.map((s) => {
      const share = Math.min(100, percent(s.calls, s.capacity));
      return el("div", { class: "meter", "data-switch": s.name, "data-calls": s.calls, "data-capacity": s.capacity },
        el("div", { class: "label" }, el("span", { text: s.name }),
          el("span", { text: `${s.calls} / ${s.capacity} calls` })),
        el("div", { class: "track" }, bar(s.calls >= s.capacity ? "full" : "used", share)));
    }));
  }

  function drawCalls(data) {
    const minutes = data.calls_per_minute;
    const total = minutes.reduce((sum, m) => sum + m.calls, 0);
    $("calls-total").textContent = total;
    $("calls-window").textContent = `in the last ${data.window_minutes} min`;
    const width = widthOf("calls-chart"), height = 150, top = 14, bottom = 20;
    const peak = Math.max(1, ...minutes.map((m) => m.calls));
    const step = width / minutes.length;
    const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img",
      "aria-label": `calls started per minute, ${total} in the last ${data.window_minutes} minutes` });
    chart.append(svg("line", { x1: 0, x2: width, y1: height - bottom, y2: height - bottom, stroke: "#dde1e6" }));
    minutes.forEach((m, i) => {
      const h = (height - top - bottom) * m.calls / peak;
      const column = svg("rect", { x: i * step + 1, y: height - bottom - h, width: Math.max(1, step - 2), height: h,
        fill: "#1f5fbf", "data-minute": m.minute, "data-calls": m.calls });
      column.append(svg("title", {}, `${new Date(m.minute).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}: ${m.calls}`));
      chart.append(column);
    });
    chart.append(svg("text", { x: 0, y: 10 }, `${peak}/min`));
    const first = new Date(minutes[0].minute), last = new Date(minutes[minutes.length - 1].minute);
    const hhmm = (d) => d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    chart.append(svg("text", { x: 0, y: height - 4 }, hhmm(first)));
    chart.append(svg("text", { x: width, y: height - 4, "text-anchor": "end" }, hhmm(last)));
    $("calls-chart").replaceChildren(chart);
  }

  function drawResults(data) {
    $("results-window").textContent = `last ${data.window_minutes} min`;
    $("answer-rate").textContent = data.answer_rate === null ? "–" : `${(100 * data.answer_rate).toFixed(1)} %`;
    const entries = Object.entries(data.dispositions);
    if (!entries.length) {
      $("dispositions-chart").replaceChildren(el("p", { class: "muted", text: "No results in this window yet." }));
      return;
    }
    const width = widthOf("dispositions-chart"), row = 24, labelWidth = 100, countWidth = 40;
    const peak = Math.max(...entries.map(([, n]) => n));
    const chart = svg("svg", { viewBox: `0 0 ${width} ${entries.length * row}`, role: "img",
      "aria-label": "results by disposition" });
    entries.forEach(([name, count], i) => {
      const length = (width - labelWidth - countWidth) * count / peak;
      const group = svg("g", { "data-disposition": name, "data-count": count });
      group.append(svg("text", { x: 0, y: i * row + 16, class: "bar-label" }, name));
      group.append(svg("rect", { x: labelWidth, y: i * row + 4, width: Math.max(1, length), height: row - 8,
        fill: COLORS[name] || "#607d8b" }));
      group.append(svg("text", { x: labelWidth + length + 6, y: i * row + 16, class: "bar-label" }, String(count)));
      chart.append(group);
    });
    $("dispositions-chart").replaceChildren(chart);
  }

  function drawCampaigns(data) {
    if (!data.campaigns.length) {
      $("campaign-list").replaceChildren(el("p", { class: "muted", text: "No campaigns yet." }));
    } else {
      $("campaign-list").replaceChildren(...data.campaigns.map((c) => {
        const breakdown = STATUSES.filter((s) => c.counts[s]).map((s) => `${c.counts[s]} ${s}`).join(" · ");
        const track = el("div", { class: "track", role: "img", "aria-label": breakdown || "no contacts" });
        for (const status of STATUSES) {
          if (c.counts[status]) {
            const part = bar("s-" + status, percent(c.counts[status], c.total));
            part.dataset.status = status;
            part.dataset.count = c.counts[status];
            part.title = `${status}: ${c.counts[status]}`;
            track.append(part);
          }
        }
        return el("div", { class: "campaign", "data-campaign": c.campaign_id },
          el("div", { class: "label" },
            el("span", {}, el("strong", { text: c.campaign_id }), " ", el("span", { class: "muted", text: c.state })),
            el("span", { class: "progress", text: `${c.done} / ${c.total} done` })),
          track, el("div", { class: "breakdown muted small", text: breakdown || "no contacts" }));
      }));
    }
    $("status-legend").replaceChildren(...STATUSES.map((s) => el("li", {}, el("i", { class: "s-" + s }), s)));
  }

  function drawOutbox(data) {
    $("outbox-pending").textContent = data.outbox.pending;
    $("outbox-dead").textContent = data.outbox.dead;
    $("outbox-dead").className = data.outbox.dead ? "error" : "";
    $("outbox-error").textContent = data.outbox.last_error ? `last delivery error: ${data.outbox.last_error}` : "";
  }

  function drawFailed(data) {
    const failed = data.failed_tasks;
    $("failed-count").textContent = failed.count;
    $("failed-count").className = failed.count ? "count bad" : "count";
    if (!failed.latest.length) {
      $("failed-list").replaceChildren(el("li", { class: "muted", text: "None: every task that failed for good was dealt with." }));
      return;
    }
    $("failed-list").replaceChildren(...failed.latest.map((task) => {
      const button = el("button", { type: "button", class: "small", text: "Requeue" });
      button.addEventListener("click", () => requeue(task, button));
      return el("li", { "data-failed-task": task.id },
        el("span", { class: "name", text: `#${task.id} ${task.name}` }), button,
        el("span", { class: "exception", text: task.exception }),
        el("span", { class: "when muted small", text: `failed ${new Date(task.failed_at).toLocaleString()}` }));
    }));
  }

  async function requeue(task, button) {
    const message = $("requeue-message");
    button.disabled = true;
    try {
      const response = await fetch(`/tasks/failed/${task.id}/requeue`, {
        method: "POST", credentials: "same-origin",
        headers: { "Accept": "application/json", "X-CSRF-Token": CSRF },
      });
      const body = await response.json().catch(() => ({}));
      if (response.status === 401) { window.location.assign(SIGN_IN_URL); return; }
      if (response.ok) {
        message.className = "small";
        message.textContent = `#${task.id} ${task.name} sent again as task ${body.requeue_task_id}.`;
        refresh();
        return;
      }
      message.className = "small error";
      message.textContent = response.status === 403 && !/CSRF/.test(body.error || "")
        ? "Signed in with the read token, which may only read: sign in with the API token to requeue."
        : `Requeue of #${task.id} refused (${response.status}): ${body.error || response.statusText}`;
    } catch (error) {
      message.className = "small error";
      message.textContent = `Requeue of #${task.id} failed: the dialer did not answer.`;
    }
    button.disabled = false;
  }

  function draw(data) {
    shown = data;
    drawHealth(data);
    drawSwitches(data);
    drawCalls(data);
    drawResults(data);
    drawCampaigns(data);
    drawOutbox(data);
    drawFailed(data);
    $("updated").textContent = `Updated ${new Date(data.generated_at).toLocaleTimeString()}, every ${REFRESH_MS / 1000} s`;
    document.body.dataset.generatedAt = data.generated_at;
  }

  function warn(text) {
    $("banner").textContent = text;
    $("banner").hidden = !text;
  }

  async function refresh() {
    clearTimeout(timer);
    if (document.hidden) { timer = setTimeout(refresh, REFRESH_MS); return; }  // a background tab reads nothing
    try {
      const response = await fetch(DATA_URL, { credentials: "same-origin", headers: { "Accept": "application/json" } });
      if (response.status === 401) { window.location.assign(SIGN_IN_URL); return; }
      const body = await response.json();
      if (!response.ok) throw new Error(body.error || response.statusText);
      draw(body);
      warn("");
    } catch (error) {
      warn(`Not updated: ${error.message}. Trying again in ${REFRESH_MS / 1000} s.`);
    }
    timer = setTimeout(refresh, REFRESH_MS);
  }

  let resizing = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizing);
    resizing = setTimeout(() => { if (shown) { drawCalls(shown); drawResults(shown); } }, 150);
  });
  document.addEventListener("visibilitychange", () => { if (!document.hidden) refresh(); });
  refresh();
})();
