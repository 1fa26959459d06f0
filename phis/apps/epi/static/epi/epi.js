// Epi dashboard: draws the charts declared as <div data-epi-chart="ID"> with their ECharts
// option in <script type="application/json" id="ID">, adds the tooltips (functions cannot
// travel in JSON) and opens the card list behind any bar, region or bubble clicked: every
// data item carries its drill-down link as `url` (built by the server, phis/apps/epi).
(function () {
  'use strict';

  function readJson(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function fmt(n) {
    return (n === null || n === undefined) ? '—' : String(n);
  }

  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }

  function mapTooltip(text) {
    return function (p) {
      var d = p.data || {};
      if (p.seriesType === 'map') {
        return esc(d.label || p.name) + '<br>' + esc(text.incidence) + ': ' + fmt(d.value) +
          '<br>' + esc(text.cases) + ': ' + fmt(d.count) +
          (d.population ? '<br>' + esc(text.population) + ': ' + d.population : '');
      }
      if (p.seriesType === 'scatter') {
        var v = d.value || [];
        return esc(p.name) + '<br>' + esc(text.cases) + ': ' + fmt(v[2]) +
          '<br>' + esc(text.incidence) + ': ' + fmt(d.incidence) +
          (p.seriesIndex === 2 ? '<br><i>' + esc(text.approximate) + '</i>' : '');
      }
      return esc(p.name);
    };
  }

  function prepare(option) {
    if (option.epiText) {  // the map
      option.tooltip = option.tooltip || {};
      option.tooltip.formatter = mapTooltip(option.epiText);
      var regions = {};
      (option.series[0].data || []).forEach(function (d) { regions[d.name] = d.label; });
      option.geo.label.formatter = function (p) { return regions[p.name] || p.name; };
      delete option.epiText;
    }
    return option;
  }

  function init(root) {
    if (!window.echarts) return;
    root.querySelectorAll('[data-epi-chart]').forEach(function (el) {
      if (el.dataset.ready) return;
      var option = readJson(el.dataset.epiChart);
      if (!option) return;
      var chart = echarts.init(el, null, { renderer: 'canvas' });
      chart.setOption(prepare(option));
      el.dataset.ready = '1';
      chart.on('click', function (p) {
        var url = p.data && p.data.url;
        if (url) window.location.href = url;
      });
      window.addEventListener('resize', function () { chart.resize(); });
    });
  }

  document.addEventListener('DOMContentLoaded', function () { init(document); });
})();
