// Draws every chart of the page from its JSON spec (one shared plotly.min.js per site), in French,
// without Plotly's toolbar: nothing to zoom, nothing to focus, the data table is one click away.
(function () {
  if (typeof Plotly === "undefined") { return; }
  Plotly.register({
    moduleType: "locale", name: "fr",
    dictionary: {"Double-click to zoom back out": "Double-cliquez pour revenir", "Click to enter %{text}": "Cliquez pour saisir %{text}",
                 "trace": "série", "Trace": "Série", "Snapshot succeeded": "Image enregistrée"},
    format: {days: ["dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"],
             shortDays: ["dim.", "lun.", "mar.", "mer.", "jeu.", "ven.", "sam."],
             months: ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"],
             shortMonths: ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."],
             date: "%d/%m/%Y", decimal: ",", thousands: "\u202f"}
  });
  var config = {locale: "fr", displayModeBar: false, responsive: true, scrollZoom: false, doubleClick: false,
                showTips: false, showAxisDragHandles: false, editable: false};
  document.querySelectorAll("div.trace[data-spec]").forEach(function (div) {
    var spec = JSON.parse(document.getElementById(div.dataset.spec).textContent);
    Plotly.newPlot(div, spec.data, spec.layout, config).then(function () {
      div.querySelectorAll("a, [tabindex]").forEach(function (el) { el.setAttribute("tabindex", "-1"); });
    });
  });
  // Printed pages carry the figures of every chart, and charts fit the A4 width.
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("figure.graphique details").forEach(function (d) { d.open = true; });
    document.querySelectorAll("div.trace.js-plotly-plot").forEach(function (div) { Plotly.Plots.resize(div); });
  });
})();
