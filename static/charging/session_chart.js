// Draws a charging session's energy (kWh delivered) and power (kW) over time from the JSON the
// session page embeds (json_script): no data is ever formatted into script text. While the
// session is active, the page's figures and the chart are refreshed from its live view (JSON)
// every 15 s; when the session completes, the page reloads to show its stop and cost.
(function () {
  var POLL_MS = 15000;

  function draw(data) {
    var canvas = document.getElementById("session-chart");
    if (!canvas || typeof Chart === "undefined") return null;
    var radius = data.labels.length > 60 ? 0 : 2; // few points: show each one
    return new Chart(canvas, {
      type: "line",
      data: {
        labels: data.labels,
        datasets: [
          { label: "Energy (kWh)", data: data.energy_kwh, yAxisID: "energy", spanGaps: true, pointRadius: radius, borderColor: "#2563eb" },
          { label: "Power (kW)", data: data.power_kw, yAxisID: "power", spanGaps: true, pointRadius: radius, borderColor: "#f59e0b" },
        ],
      },
      options: {
        responsive: true,
        animation: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          energy: { type: "linear", position: "left", beginAtZero: true, title: { display: true, text: "kWh" } },
          power: { type: "linear", position: "right", beginAtZero: true, title: { display: true, text: "kW" }, grid: { drawOnChartArea: false } },
        },
      },
    });
  }

  function setText(id, text) {
    var element = document.getElementById(id);
    if (element) element.textContent = text;
  }

  function poll(url, chart) {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (figures) {
        if (!figures) return;
        if (!figures.active) { window.location.reload(); return; }
        setText("session-energy", figures.energy_kwh);
        setText("session-duration", figures.duration);
        setText("session-power", figures.last_power_kw || "-");
        setText("session-last-heard", figures.last_heard);
        if (chart) {
          chart.data.labels = figures.chart.labels;
          chart.data.datasets[0].data = figures.chart.energy_kwh;
          chart.data.datasets[1].data = figures.chart.power_kw;
          chart.update();
        }
      })
      .catch(function () { /* try again at the next tick */ });
  }

  function start() {
    var source = document.getElementById("session-chart-data");
    var chart = source ? draw(JSON.parse(source.textContent)) : null;
    var page = document.getElementById("session-page");
    var url = page && page.getAttribute("data-live-url");
    if (url) window.setInterval(function () { poll(url, chart); }, POLL_MS);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
