// Draws the analytics page's chart from the JSON the page embeds (json_script): no data is
// ever formatted into script text.
document.addEventListener("DOMContentLoaded", function () {
  var source = document.getElementById("analytics-chart-data");
  var canvas = document.getElementById("analytics-chart");
  if (!source || !canvas || typeof Chart === "undefined") return;
  var chart = JSON.parse(source.textContent);
  new Chart(canvas, {
    type: chart.type,
    data: { labels: chart.labels, datasets: chart.datasets },
    options: {
      responsive: true,
      scales: {
        x: { stacked: !!chart.stacked },
        y: { stacked: !!chart.stacked, beginAtZero: true, title: { display: true, text: chart.y_label } },
      },
    },
  });
});
