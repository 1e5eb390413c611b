/* The overview's charts (dashboards/web/overview.py): three bar charts drawn with the vendored Chart.js from
   /overview.json. The CSP allows no inline script, so the figures arrive by fetch. Drawn without animation,
   so a chart is finished when it appears; #overview gets data-drawn once all are. */
(function () {
  "use strict";
  var box = document.getElementById("overview");
  if (!box) { return; }

  function bar(id, figures, label, colour, axes) {
    var canvas = document.getElementById(id);
    if (!canvas) { return; }  // nothing to draw: the page says so in words
    new Chart(canvas, {
      type: "bar",
      data: {labels: figures.labels, datasets: [{label: label, data: figures.counts, backgroundColor: colour}]},
      options: {
        animation: false, responsive: true, maintainAspectRatio: false, indexAxis: axes.index || "x",
        plugins: {legend: {display: false}},
        scales: axes.scales
      }
    });
  }

  function counted(text) { return {beginAtZero: true, ticks: {precision: 0}, title: {display: true, text: text}}; }
  function named(text) { return {title: {display: true, text: text}, ticks: {autoSkip: false}}; }

  fetch(box.dataset.source, {credentials: "same-origin", cache: "no-store"})
    .then(function (response) {
      if (!response.ok) { throw new Error("overview: HTTP " + response.status); }
      return response.json();
    })
    .then(function (figures) {
      bar("hosts-chart", figures.per_host, "sightings", "#0072B2",
          {index: "y", scales: {x: counted("sightings"), y: named("host")}});
      bar("removals-chart", figures.removals_per_week, "removals", "#D55E00",
          {scales: {x: named("week starting"), y: counted("copies removed")}});
      bar("removal-days-chart", figures.time_to_removal, "copies", "#009E73",
          {scales: {x: named("days from first seen to removal"), y: counted("copies")}});
      box.dataset.drawn = "true";
    })
    .catch(function (error) {
      box.insertAdjacentHTML("beforeend", "<p class=\"error\"></p>");
      box.lastElementChild.textContent = String(error);
    });
})();
