// ILI weekly entry: show the total and ILI% (= ILI / all outpatient+emergency visits x 100)
// while the sentinel hospital types, so an impossible week is seen before saving.
(function () {
  function num(el) {
    var v = parseInt((el && el.value || '').trim(), 10);
    return isNaN(v) ? 0 : v;
  }
  function update(form) {
    var total = 0;
    form.querySelectorAll('[data-ili-part]').forEach(function (el) { total += num(el); });
    var visits = num(form.querySelector('[data-ili-visits]'));
    form.querySelector('[data-ili-total]').textContent = String(total);
    var pct = form.querySelector('[data-ili-percent]');
    pct.textContent = visits > 0 ? (Math.round(total * 10000 / visits) / 100).toFixed(2) + '%' : '–';
    pct.classList.toggle('text-danger', visits > 0 && total > visits);
  }
  document.addEventListener('DOMContentLoaded', function () {
    document.querySelectorAll('[data-ili-form]').forEach(function (form) {
      form.addEventListener('input', function () { update(form); });
      update(form);
    });
  });
})();
