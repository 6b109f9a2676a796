// The operator dashboard: draws the map and charts from the figures the page carries
// (json_script "dashboard-data") and keeps them current from the /ws/dashboard feed.
// Charger-supplied strings only ever reach the page through textContent, never innerHTML.
(function () {
  "use strict";

  const root = document.getElementById("dashboard");
  const dataNode = document.getElementById("dashboard-data");
  if (!root || !dataNode) return;
  const data = JSON.parse(dataNode.textContent);

  const COLOURS = {
    Faulted: "#dc2626",
    Charging: "#2563eb",
    Available: "#16a34a",
    Offline: "#6b7280",
  };
  const STATUS_COLOURS = {
    Available: "#16a34a", Preparing: "#0891b2", Charging: "#2563eb", SuspendedEVSE: "#7c3aed",
    SuspendedEV: "#a855f7", Finishing: "#0d9488", Reserved: "#ca8a04", Unavailable: "#9ca3af",
    Faulted: "#dc2626", Occupied: "#1d4ed8", Unknown: "#d1d5db",
  };
  const MAX_ROWS = 50;
  const MAX_EVENTS = 30;

  const counts = Object.assign({}, data.fleet.connectors_by_status);
  const sites = new Map(data.sites.map((site) => [site.id, site]));

  // --- map ---------------------------------------------------------------------------------
  const markers = new Map();

  function siteState(site) {
    const states = site.states || {};
    if (states.Faulted) return "Faulted";
    if (states.Charging) return "Charging";
    if (states.Available) return "Available";
    return "Offline";
  }

  function siteLabel(site) {
    const states = Object.entries(site.states || {})
      .filter(([, n]) => n > 0)
      .map(([state, n]) => `${state}: ${n}`)
      .join(", ");
    return `${site.name} — ${site.online}/${site.chargers} chargers online${states ? " — " + states : ""}`;
  }

  function drawMap() {
    const mapNode = document.getElementById("dash-map");
    if (!window.L || !mapNode) return;
    const map = L.map(mapNode, { attributionControl: true });
    if (data.map.tile_url) {
      L.tileLayer(data.map.tile_url, { maxZoom: 19, attribution: data.map.attribution }).addTo(map);
    }
    const points = [];
    for (const site of data.sites) {
      const marker = L.circleMarker([site.latitude, site.longitude], {
        radius: 9, weight: 2, color: "#111827", fillOpacity: 0.9, fillColor: COLOURS[siteState(site)],
      }).addTo(map);
      marker.bindTooltip(siteLabel(site));
      marker.getElement && marker.getElement()?.setAttribute("data-site", String(site.id));
      markers.set(site.id, marker);
      points.push([site.latitude, site.longitude]);
    }
    if (points.length) map.fitBounds(points, { padding: [30, 30], maxZoom: 13 });
    else map.setView([50, 10], 4);
  }

  function recolourSite(siteId) {
    const site = sites.get(siteId);
    const marker = markers.get(siteId);
    if (!site || !marker) return;
    marker.setStyle({ fillColor: COLOURS[siteState(site)] });
    marker.setTooltipContent(siteLabel(site));
    marker.getElement && marker.getElement()?.setAttribute("data-state", siteState(site));
  }

  // --- charts ------------------------------------------------------------------------------
  let statusChart = null;
  let dailyChart = null;

  function drawCharts() {
    if (!window.Chart) return;
    const statuses = data.statuses;
    statusChart = new Chart(document.getElementById("chart-status"), {
      type: "doughnut",
      data: {
        labels: statuses,
        datasets: [{ data: statuses.map((s) => counts[s] || 0), backgroundColor: statuses.map((s) => STATUS_COLOURS[s] || "#999") }],
      },
      options: { animation: false, maintainAspectRatio: false, plugins: { legend: { position: "right" } } },
    });
    dailyChart = new Chart(document.getElementById("chart-daily"), {
      data: {
        labels: data.daily.labels,
        datasets: [
          { type: "bar", label: "Sessions started", data: data.daily.sessions.slice(), backgroundColor: "#93c5fd", yAxisID: "sessions" },
          { type: "line", label: "Energy (kWh)", data: data.daily.energy_kwh.slice(), borderColor: "#16a34a", yAxisID: "energy" },
        ],
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        scales: {
          sessions: { position: "left", beginAtZero: true, ticks: { precision: 0 } },
          energy: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false } },
        },
      },
    });
  }

  function refreshStatusChart() {
    if (!statusChart) return;
    statusChart.data.datasets[0].data = data.statuses.map((s) => counts[s] || 0);
    statusChart.update();
  }

  function addToToday(index, value) {
    if (!dailyChart) return;
    const last = dailyChart.data.datasets[index].data.length - 1;
    const current = Number(dailyChart.data.datasets[index].data[last]) || 0;
    dailyChart.data.datasets[index].data[last] = Math.round((current + value) * 1000) / 1000;
    dailyChart.update();
  }

  // --- tables and figures --------------------------------------------------------------------
  function setText(id, value) {
    const node = document.getElementById(id);
    if (node) node.textContent = String(value);
  }

  function bump(id, delta) {
    const node = document.getElementById(id);
    if (!node) return;
    const next = Math.round((Number(node.textContent) + delta) * 1000) / 1000;
    node.textContent = String(next);
  }

  function cell(text) {
    const td = document.createElement("td");
    td.textContent = text == null ? "" : String(text);
    return td;
  }

  // OCPP 2.0.1 numbers connectors per EVSE (evse_id is null for 1.6): "EVSE 2 / 1", and a row
  // key that keeps EVSE 1's connector 1 apart from EVSE 2's (as reports.dashboard.connector_key).
  function connectorLabel(event) {
    return event.evse_id == null ? String(event.connector_id) : `EVSE ${event.evse_id} / ${event.connector_id}`;
  }

  function connectorKey(event) {
    return event.evse_id == null
      ? `${event.charge_point_id}/${event.connector_id}`
      : `${event.charge_point_id}/evse-${event.evse_id}/${event.connector_id}`;
  }

  function upsertConnectorRow(event) {
    const tbody = document.querySelector("#dash-connectors tbody");
    const key = connectorKey(event);
    let row = Array.from(tbody.rows).find((r) => r.dataset.connector === key);
    const site = sites.get(event.site_id);
    if (!row) {
      row = document.createElement("tr");
      row.dataset.connector = key;
      row.append(cell(event.charge_point_id), cell(site ? site.name : ""), cell(connectorLabel(event)), cell(""), cell(""), cell(""));
      row.cells[3].className = "dash-status";
    }
    row.cells[3].textContent = event.status;
    row.cells[3].dataset.state = event.status;
    row.cells[4].textContent = event.error_code;
    row.cells[5].textContent = event.time || event.timestamp || "";
    tbody.prepend(row);
    while (tbody.rows.length > MAX_ROWS) tbody.deleteRow(-1);
  }

  function addFault(event) {
    const tbody = document.querySelector("#dash-faults tbody");
    tbody.querySelector(".dash-empty")?.remove();
    const row = document.createElement("tr");
    row.append(cell(event.charge_point_id), cell(connectorLabel(event)), cell(event.status), cell(event.error_code), cell(event.time || event.timestamp));
    tbody.prepend(row);
    while (tbody.rows.length > 10) tbody.deleteRow(-1);
  }

  function logEvent(text) {
    const list = document.getElementById("dash-events");
    const item = document.createElement("li");
    item.textContent = `${new Date().toLocaleTimeString()} ${text}`;
    list.prepend(item);
    while (list.children.length > MAX_EVENTS) list.lastElementChild.remove();
  }

  // --- live feed ---------------------------------------------------------------------------
  function onStatus(event) {
    const isFault = event.status === "Faulted" || (event.error_code && event.error_code !== "NoError");
    if (isFault) addFault(event);
    logEvent(`${event.charge_point_id} connector ${connectorLabel(event)}: ${event.status}`);
    if (event.connector_id === 0) return; // the charger as a whole: not a connector count
    upsertConnectorRow(event);
    if (event.previous_status !== event.status) {
      counts[event.previous_status] = Math.max(0, (counts[event.previous_status] || 0) - 1);
      counts[event.status] = (counts[event.status] || 0) + 1;
      setText("count-status-Charging", counts.Charging || 0);
      setText("count-status-Faulted", counts.Faulted || 0);
      refreshStatusChart();
      const site = sites.get(event.site_id);
      if (site) {
        site.states[event.previous_status] = Math.max(0, (site.states[event.previous_status] || 0) - 1);
        site.states[event.status] = (site.states[event.status] || 0) + 1;
        recolourSite(event.site_id);
      }
    }
  }

  // The server's "today" is a day in its time zone; a session reported late may belong to another.
  const dayFormat = new Intl.DateTimeFormat("en-CA", { timeZone: data.today.time_zone, year: "numeric", month: "2-digit", day: "2-digit" });
  function isToday(iso) {
    return Boolean(iso) && dayFormat.format(new Date(iso)) === dayFormat.format(new Date());
  }

  function onSessionStarted(event) {
    bump("today-active", 1);
    if (isToday(event.started_at)) {
      bump("today-sessions", 1);
      addToToday(0, 1);
    }
    logEvent(`${event.charge_point_id} connector ${connectorLabel(event)}: session ${event.session_id} (transaction ${event.transaction_id}) started`);
  }

  function onSessionStopped(event) {
    const kwh = (event.energy_wh || 0) / 1000;
    bump("today-active", -1);
    if (isToday(event.stopped_at)) {
      bump("today-energy", kwh);
      addToToday(1, kwh);
    }
    logEvent(`${event.charge_point_id} connector ${connectorLabel(event)}: session ${event.session_id} (transaction ${event.transaction_id}) stopped, ${kwh.toFixed(3)} kWh`);
  }

  function onConnection(event) {
    bump("count-online", event.online ? 1 : -1);
    bump("count-offline", event.online ? -1 : 1);
    const site = sites.get(event.site_id);
    if (site) {
      site.online += event.online ? 1 : -1;
      for (const status of event.connector_statuses) {
        const old = event.online ? "Offline" : status;
        const now = event.online ? status : "Offline";
        site.states[old] = Math.max(0, (site.states[old] || 0) - 1);
        site.states[now] = (site.states[now] || 0) + 1;
      }
      recolourSite(event.site_id);
    }
    logEvent(`${event.charge_point_id} ${event.online ? "online" : "offline"}`);
  }

  // A problem a 2.0.1 station reported with NotifyEvent: a fault row, status "Problem".
  function onProblem(event) {
    addFault(event);
    logEvent(`${event.charge_point_id} ${event.component}.${event.variable}: ${event.error_code}`);
  }

  const HANDLERS = {
    status: onStatus,
    problem: onProblem,
    connection: onConnection,
    "session.started": onSessionStarted,
    "session.stopped": onSessionStopped,
  };

  function connect(delay) {
    const state = document.getElementById("dash-live-state");
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(scheme + location.host + root.dataset.liveUrl);
    socket.addEventListener("open", () => {
      state.dataset.state = "live";
      state.textContent = "live";
      delay = 1000;
    });
    socket.addEventListener("message", (message) => {
      const event = JSON.parse(message.data);
      const handler = HANDLERS[event.type];
      if (handler) handler(event);
    });
    socket.addEventListener("close", (closed) => {
      state.dataset.state = "offline";
      // Not signed in or nothing to watch: reconnecting would not change that.
      if (closed.code === 4401 || closed.code === 4403) {
        state.textContent = "live updates unavailable";
        return;
      }
      state.textContent = "reconnecting…";
      setTimeout(() => connect(Math.min(delay * 2, 30000)), delay);
    });
  }

  drawMap();
  drawCharts();
  connect(1000);
})();
