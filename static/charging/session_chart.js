// Draws a charging session's energy (kWh delivered) and power (kW) over time from the JSON the
// session page embeds (json_script): no data is ever formatted into script text.
(function () {
  function draw() {
    var source = document.getElementById("session-chart-data");
    var canvas = document.getElementById("session-chart");
    if (!source || !canvas || typeof Chart === "undefined") return;
    var chart = JSON.parse(source.textContent);
    new Chart(canvas, {
      type: "line",
      data: {
        labels: chart.labels,
        datasets: [
          { label: "Energy (kWh)", data: chart.energy_kwh, yAxisID: "energy", spanGaps: true, pointRadius: 0, borderColor: "#2563eb" },
          { label: "Power (kW)", data: chart.power_kw, yAxisID: "power", spanGaps: true, pointRadius: 0, borderColor: "#f59e0b" },
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
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
