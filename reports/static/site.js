// Draws every chart of the page from its JSON spec (one shared plotly.min.js per site).
document.querySelectorAll("div.trace[data-spec]").forEach(function (div) {
  var spec = JSON.parse(document.getElementById(div.dataset.spec).textContent);
  Plotly.newPlot(div, spec.data, spec.layout, {displaylogo: false, responsive: true,
    modeBarButtonsToRemove: ["sendDataToCloud", "lasso2d", "select2d"]});
});
// Printed plaquettes carry the data tables of every chart.
window.addEventListener("beforeprint", function () {
  document.querySelectorAll("figure.graphique details").forEach(function (d) { d.open = true; });
});
