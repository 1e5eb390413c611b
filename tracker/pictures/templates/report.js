/* The HTML report's pictures (tracker/pictures/html.py): the timeline with Chart.js, the spread graph with
   Cytoscape.js, both drawn from the JSON embedded in the page and without animation, so a printer gets
   the finished pictures; window.reportReady turns true once both are drawn. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var ratio = Math.max(window.devicePixelRatio || 1, 2);  // sharp on paper as on screen
  var pending = 2;

  function drawn() {
    pending -= 1;
    if (pending === 0) {
      window.requestAnimationFrame(function () { window.reportReady = true; });
    }
  }

  function ms(stamp) { return Date.parse(stamp); }
  function day(t) { return new Date(t).toISOString().slice(0, 10); }
  function minute(t) { return new Date(t).toISOString().slice(0, 16).replace("T", " ") + " UTC"; }
  function colour(host) { return data.colours[host] || "#7F7F7F"; }

  // A dashed upright line at the first appearance, labelled: Chart.js has no annotations of its own.
  var firstMark = {
    id: "firstAppearance",
    afterDatasetsDraw: function (chart) {
      var first = data.timeline.first;
      if (!first) { return; }
      var x = chart.scales.x.getPixelForValue(ms(first.at));
      var area = chart.chartArea, ctx = chart.ctx;
      ctx.save();
      ctx.strokeStyle = "#111";
      ctx.lineWidth = 1.5;
      ctx.setLineDash([5, 4]);
      ctx.beginPath();
      ctx.moveTo(x, area.top);
      ctx.lineTo(x, area.bottom);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillStyle = "#111";
      ctx.font = "600 12px 'DejaVu Sans', sans-serif";
      var label = "first appearance: " + first.host + ", " + day(ms(first.at));
      var width = ctx.measureText(label).width;
      var left = x + 6 + width > area.right ? x - 6 - width : x + 6;
      ctx.fillStyle = "rgba(255,255,255,0.85)";
      ctx.fillRect(left - 3, area.top + 2, width + 6, 17);
      ctx.fillStyle = "#111";
      ctx.fillText(label, left, area.top + 15);
      ctx.restore();
    }
  };

  function drawTimeline() {
    var canvas = document.getElementById("timeline-chart");
    var line = data.timeline;
    if (!canvas || line.steps.length === 0) { drawn(); return; }
    var start = ms(line.steps[0].at), end = Math.max(ms(line.until), ms(line.steps[line.steps.length - 1].at));
    var pad = Math.max((end - start) * 0.03, 12 * 3600 * 1000);
    // One point per moment anything changed, in every series: stacked areas add up at the same x only.
    var times = [], counts = {}, online = {}, total = [{x: start, y: 0}], removals = [], returns = [];
    line.steps.forEach(function (step) {
      var t = ms(step.at);
      if (times.length === 0 || times[times.length - 1] !== t) { times.push(t); }
      counts[t] = counts[t] || {};
      counts[t][step.host] = step.host_online;
      online[t] = step.online;  // the last step at a moment says how many are online after it
      var mark = {x: t, y: step.online, host: step.host, change: step.change};
      if (step.change === "removed" || step.change === "changed") { removals.push(mark); }
      if (step.change === "reappeared") { returns.push(mark); }
    });
    times.forEach(function (t) { total.push({x: t, y: online[t]}); });
    total.push({x: end, y: line.online_now});
    var datasets = [{
      label: "all copies online", data: total, stepped: true, borderColor: "#1b1f24", borderWidth: 3, pointRadius: 0,
      fill: false, stack: "total", order: 1
    }];
    if (data.per_host) {
      line.hosts.forEach(function (host, n) {
        var now = 0, points = [{x: start, y: 0}];
        times.forEach(function (t) {
          if (counts[t][host] !== undefined) { now = counts[t][host]; }
          points.push({x: t, y: now});
        });
        points.push({x: end, y: now});
        datasets.push({label: host, data: points, stepped: true, borderColor: colour(host), borderWidth: 1,
                       backgroundColor: colour(host) + "99", pointRadius: 0, fill: n === 0 ? "origin" : "-1",
                       stack: "hosts", order: 3});
      });
    }
    datasets.push({label: "removed", data: removals, showLine: false, pointStyle: "crossRot", pointRadius: 8,
                   pointBorderWidth: 3, borderColor: "#c0392b", backgroundColor: "#c0392b", stack: "removed", order: 0});
    if (returns.length) {
      datasets.push({label: "reappeared", data: returns, showLine: false, pointStyle: "triangle", pointRadius: 8,
                     borderColor: "#1a7f37", backgroundColor: "#1a7f37", stack: "reappeared", order: 0});
    }
    window.timelineChart = new Chart(canvas, {
      type: "line",
      data: {datasets: datasets},
      plugins: [firstMark],
      options: {
        animation: false, responsive: true, maintainAspectRatio: false, devicePixelRatio: ratio, parsing: false,
        interaction: {mode: "nearest", intersect: false},
        scales: {
          x: {type: "linear", min: start - pad, max: end + pad,
              ticks: {maxTicksLimit: 8, callback: function (value) { return day(value); }}},
          y: {beginAtZero: true, suggestedMax: 1, stacked: true, ticks: {precision: 0}, title: {display: true, text: "copies online"}}
        },
        plugins: {
          legend: {position: "bottom", labels: {usePointStyle: true, boxHeight: 8}},
          tooltip: {callbacks: {
            title: function (items) { return items.length ? minute(items[0].parsed.x) : ""; },
            label: function (item) {
              var raw = item.raw;
              return raw.change ? raw.change + " on " + raw.host + " (" + raw.y + " online)" : item.dataset.label + ": " + raw.y;
            }
          }}
        }
      }
    });
    drawn();
  }

  function drawGraph() {
    var box = document.getElementById("spread-graph");
    var graph = data.graph;
    if (!box || graph.nodes.length === 0) { drawn(); return; }
    var most = Math.max.apply(null, graph.nodes.map(function (n) { return n.copies; }));
    var elements = graph.nodes.map(function (n) {
      var state = n.removed_everywhere ? "all removed" : n.online + " online";
      return {group: "nodes", classes: (n.first ? "first " : "") + (n.removed_everywhere ? "removed" : ""), data: {
        id: n.host, colour: colour(n.host), size: 28 + 30 * Math.sqrt(n.copies / most),
        label: (n.first ? "first appearance\n" : "") + n.host + "\n" + n.copies + (n.copies === 1 ? " copy, " : " copies, ") + state
      }};
    });
    graph.edges.forEach(function (e, i) {
      var kind = e.kind === "same uploader" ? "uploader" : e.kind;
      elements.push({group: "edges", classes: kind, data: {
        id: "e" + i, source: e.source, target: e.target, label: kind === "later" ? "" : e.kind + (e.count > 1 ? " \u00d7" + e.count : "")
      }});
    });
    var cy = cytoscape({
      container: box, elements: elements, pixelRatio: ratio,
      userZoomingEnabled: false, userPanningEnabled: false, boxSelectionEnabled: false, autoungrabify: true,
      style: [
        {selector: "node", style: {
          "background-color": "data(colour)", width: "data(size)", height: "data(size)", label: "data(label)",
          "text-wrap": "wrap", "text-valign": "bottom", "text-margin-y": 5, "font-size": 12, "font-family": "DejaVu Sans, sans-serif",
          // An outline, not a box, behind the label: an arrow ending under it stays visible.
          color: "#1b1f24", "text-outline-color": "#fff", "text-outline-width": 2.5, "text-outline-opacity": 1,
          "border-width": 1.5, "border-color": "#fff"}},
        {selector: "node.first", style: {"border-width": 5, "border-color": "#111", "font-weight": "bold"}},
        {selector: "node.removed", style: {"background-color": "#e6e6e6", "border-width": 2, "border-style": "dashed",
                                           "border-color": "#888", color: "#666"}},
        {selector: "node.first.removed", style: {"border-width": 5, "border-color": "#111"}},
        {selector: "edge", style: {
          "curve-style": "bezier", "target-arrow-shape": "triangle", "arrow-scale": 1.3, width: 3, label: "data(label)",
          "font-size": 11, "font-family": "DejaVu Sans, sans-serif", "text-background-color": "#fff",
          "text-background-opacity": 0.9, "text-background-padding": 2, "text-rotation": "none"}},
        {selector: "edge.linked", style: {"line-color": "#1f3b73", "target-arrow-color": "#1f3b73", color: "#1f3b73"}},
        {selector: "edge.uploader", style: {"line-color": "#7b2d8e", "target-arrow-color": "#7b2d8e", color: "#7b2d8e",
                                             "line-style": "dashed", "line-dash-pattern": [8, 4]}},
        {selector: "edge.later", style: {"line-color": "#6b6b6b", "target-arrow-color": "#6b6b6b", width: 2.5,
                                          "line-style": "dotted"}}
      ],
      // Breadth-first from the first host, turned to read left to right (the boxes are wider than tall):
      // laid out in the box turned on its side, then each position turned back.
      layout: {name: "breadthfirst", directed: true, roots: ".first", padding: 24, spacingFactor: 1, animate: false,
               avoidOverlap: true, nodeDimensionsIncludeLabels: true,
               boundingBox: {x1: 0, y1: 0, w: box.clientHeight, h: box.clientWidth},
               transform: function (node, position) { return {x: position.y, y: position.x}; }}
    });
    // A wide graph is zoomed out to fit its box, and its labels with it: they are enlarged back to a
    // readable size (on paper too), then the whole is fitted again.
    var zoom = cy.zoom();
    if (zoom < 1) {
      cy.style().selector("node").style("font-size", 12 / zoom).selector("edge").style("font-size", 11 / zoom).update();
      cy.fit(undefined, 24);
    }
    window.cy = cy;
    cy.ready(drawn);
  }

  drawTimeline();
  drawGraph();
})();
