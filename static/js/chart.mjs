// Draw every plotly figure on the page from its data-figure attribute.
//
// The figure JSON is built on the server (caseload/charts.py) and travels in
// an HTML attribute, so no inline script is needed under the strict CSP.
// plotly.min.js is a classic deferred script that defines window.Plotly.

const CONFIG = { displayModeBar: false, responsive: true, displaylogo: false };

function plotlyReady() {
  if (window.Plotly) {
    return Promise.resolve(window.Plotly);
  }
  if (document.readyState === "complete") {
    // The load event has been and gone: plotly.js failed to load or was left out.
    return Promise.reject(new Error("plotly.js did not load"));
  }
  return new Promise((resolve, reject) => {
    window.addEventListener(
      "load",
      () => (window.Plotly ? resolve(window.Plotly) : reject(new Error("plotly.js did not load"))),
      { once: true },
    );
  });
}

async function drawChart(Plotly, el) {
  let figure;
  try {
    figure = JSON.parse(el.dataset.figure);
  } catch (error) {
    el.dataset.rendered = "error";
    console.error("caseload chart: the figure is not valid JSON", error);
    return;
  }
  try {
    await Plotly.newPlot(el, figure.data || [], figure.layout || {}, CONFIG);
    el.dataset.rendered = "true";
  } catch (error) {
    el.dataset.rendered = "error";
    console.error("caseload chart: plotly could not draw the figure", error);
  }
}

async function drawAll() {
  const charts = document.querySelectorAll(".app-chart[data-figure]");
  if (charts.length === 0) {
    return;
  }
  let Plotly;
  try {
    Plotly = await plotlyReady();
  } catch (error) {
    // The table next to each chart (if any) still carries the numbers.
    charts.forEach((el) => { el.dataset.rendered = "error"; });
    console.error("caseload chart:", error);
    return;
  }
  await Promise.all(Array.from(charts, (el) => drawChart(Plotly, el)));
}

drawAll();
