/* A case page's pictures: the report's own drawing code (tracker/pictures/templates/report.js, served at
   /report/report.js) fed the JSON the case's pictures endpoint answers. The CSP allows no inline script,
   so the data arrives by fetch and is handed over as the JSON block report.js reads. */
(function () {
  "use strict";
  var box = document.getElementById("pictures");
  if (!box) { return; }
  fetch(box.dataset.source, {credentials: "same-origin", cache: "no-store"})
    .then(function (response) {
      if (!response.ok) { throw new Error("pictures: HTTP " + response.status); }
      return response.text();
    })
    .then(function (text) {
      var data = document.createElement("script");
      data.type = "application/json";  // data, not script: never executed, so the CSP lets it be
      data.id = "report-data";
      data.textContent = text;
      document.body.appendChild(data);
      var draw = document.createElement("script");
      draw.src = "/report/report.js";
      document.body.appendChild(draw);
    })
    .catch(function (error) {
      box.insertAdjacentHTML("beforeend", "<p class=\"error\"></p>");
      box.lastElementChild.textContent = String(error);
    });
})();
