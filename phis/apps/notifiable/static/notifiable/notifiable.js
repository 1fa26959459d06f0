// A3/A9 notifiable-disease pages: the card entry form and the review queue.
// Loaded WITHOUT defer from the page's <head> block, so the Alpine components below are
// registered (alpine:init) before the deferred Alpine CSP build starts. CSP forbids inline
// scripts: every behaviour lives here and the templates only name components and methods.
(function () {
  'use strict';

  // --- helpers shared by the components --------------------------------------------------
  var ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  var ID_CHECK = '10X98765432';

  // "20260105", "2026-1-5", "2026/01/05", "2026.1.5" -> "2026-01-05"; anything else unchanged
  function normaliseDate(text) {
    var t = (text || '').trim();
    var m = t.match(/^(\d{4})(\d{2})(\d{2})$/) || t.match(/^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$/);
    if (!m) return t;
    return m[1] + '-' + ('0' + m[2]).slice(-2) + '-' + ('0' + m[3]).slice(-2);
  }

  // "9" -> "09:00", "930" -> "09:30", "0930" -> "09:30", "9:5" -> "09:05"
  function normaliseTime(text) {
    var t = (text || '').trim();
    var m = t.match(/^(\d{1,2})$/) || t.match(/^(\d{1,2})(\d{2})$/) || t.match(/^(\d{1,2})[:：.](\d{1,2})$/);
    if (!m) return t;
    return ('0' + m[1]).slice(-2) + ':' + ('0' + (m[2] || '0')).slice(-2);
  }

  function toDate(iso) {
    var m = (iso || '').match(/^(\d{4})-(\d{2})-(\d{2})$/);
    if (!m) return null;
    var d = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
    return d.getMonth() === Number(m[2]) - 1 ? d : null;
  }

  // Birth date and sex from an 18-digit resident ID (GB 11643), or null when it is not valid.
  function parseResidentId(raw) {
    var n = (raw || '').trim().toUpperCase();
    if (!/^\d{17}[\dX]$/.test(n)) return null;
    var sum = 0;
    for (var i = 0; i < 17; i++) sum += Number(n[i]) * ID_WEIGHTS[i];
    if (ID_CHECK[sum % 11] !== n[17]) return null;
    var birth = n.slice(6, 10) + '-' + n.slice(10, 12) + '-' + n.slice(12, 14);
    if (!toDate(birth)) return null;
    return { birthDate: birth, sex: Number(n[16]) % 2 === 1 ? '1' : '2' };
  }

  function fullYears(birth, on) {
    var years = on.getFullYear() - birth.getFullYear();
    if (on.getMonth() < birth.getMonth() ||
        (on.getMonth() === birth.getMonth() && on.getDate() < birth.getDate())) years -= 1;
    return years;
  }

  function focusable(form) {
    return Array.prototype.filter.call(
      form.querySelectorAll('input, select, textarea, button'),
      function (el) {
        return !el.disabled && el.type !== 'hidden' && el.tabIndex >= 0 &&
          el.offsetParent !== null;
      });
  }

  function focusNext(form, current) {
    var items = focusable(form);
    var i = items.indexOf(current);
    if (i >= 0 && i + 1 < items.length) items[i + 1].focus();
  }

  // Service field names that are entered through another input on the page.
  var FIELD_ALIASES = { address_code: 'address_township', diagnosis_at: 'diagnosis_date' };

  function inputFor(form, field) {
    return form.elements.namedItem(FIELD_ALIASES[field] || field);
  }

  function searchText(option) {
    return ((option.dataset.search || '') + ' ' + option.textContent).toLowerCase();
  }

  document.addEventListener('alpine:init', function () {
    // --- the card entry form ---------------------------------------------------------------
    window.Alpine.data('cardEntry', function () {
      return {
        hasSubtypes: false,
        needsAcuteChronic: false,
        isChild: false,
        isOtherOccupation: false,
        lookupText: '',
        lookupTone: 'text-muted',
        lookupBusy: false,
        touched: {},

        init: function () {
          var self = this;
          this.form = this.$el;
          this.form.addEventListener('keydown', function (e) { self.onKeydown(e); });
          document.addEventListener('keydown', function (e) { self.onShortcut(e); });
          this.form.addEventListener('change', function (e) {
            if (e.target.name) self.touched[e.target.name] = true;
          });
          this.form.addEventListener('submit', function () {
            // a second click while the first submission travels must not store it twice
            self.form.querySelectorAll('button[type=submit]').forEach(function (b) {
              setTimeout(function () { b.disabled = true; }, 0);
            });
          });
          document.addEventListener('htmx:afterSwap', function (e) {
            if (e.target && e.target.id === 'card-check') self.showLiveErrors();
          });
          // errors rendered by the server on a failed submit count as touched
          this.form.querySelectorAll('.is-invalid').forEach(function (el) {
            if (el.name) self.touched[el.name] = true;
          });
          this.diseaseChanged();
          this.ageChanged();
          this.occupationChanged();
          // after a refused submit, start at the first field to fix
          var firstInvalid = this.form.querySelector('.is-invalid');
          if (firstInvalid) firstInvalid.focus();
        },

        field: function (name) { return this.form.elements.namedItem(name); },

        onKeydown: function (e) {
          var t = e.target;
          // Enter moves on instead of submitting: half a card must never go out by accident.
          if (e.key === 'Enter' && !e.ctrlKey && !e.metaKey &&
              t.tagName !== 'TEXTAREA' && t.tagName !== 'BUTTON' && t.type !== 'submit') {
            e.preventDefault();
            if (t.dataset.selectFilter) {
              // the first match is chosen already: jump past its select
              this.filterSelect(t);
              focusNext(this.form, this.field(t.dataset.selectFilter));
            } else {
              focusNext(this.form, t);
            }
          }
        },

        onShortcut: function (e) {
          if (!(e.ctrlKey || e.metaKey)) return;
          var key = (e.key || '').toLowerCase();
          var button = null;
          if (key === 's') button = this.form.querySelector('button[value=draft]');
          else if (key === 'enter') button = this.form.querySelector('button[data-primary]');
          if (button) {
            e.preventDefault();
            button.click();
          }
        },

        // typing into a filter box narrows its select to matching options (Chinese, pinyin,
        // initials, code or ICD-10) and chooses the first match
        filterSelect: function (arg) {
          var target = arg && arg.target ? arg.target : arg;  // an input event or the input
          var select = this.field(target.dataset.selectFilter);
          if (!select) return;
          var words = target.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
          var first = null;
          Array.prototype.forEach.call(select.options, function (o) {
            if (!o.value) return;
            var text = searchText(o);
            var ok = o.dataset.parent === undefined || o.dataset.parent === '';
            ok = ok && words.every(function (w) { return text.indexOf(w) >= 0; });
            o.hidden = !ok;
            if (ok && !first) first = o;
          });
          if (first && words.length && select.value !== first.value) {
            select.value = first.value;
            select.dispatchEvent(new Event('change', { bubbles: true }));
          }
        },

        diseaseChanged: function () {
          var disease = this.field('disease_code');
          var subtype = this.field('subtype_code');
          if (!disease || !subtype) return;
          var code = disease.value;
          var count = 0;
          Array.prototype.forEach.call(subtype.options, function (o) {
            if (!o.value) return;
            var mine = o.dataset.parent === code;
            o.hidden = !mine;
            o.disabled = !mine;
            if (mine) count += 1;
          });
          var chosen = subtype.selectedOptions[0];
          if (chosen && chosen.value && chosen.dataset.parent !== code) subtype.value = '';
          this.hasSubtypes = count > 0;
          this.subtypeChanged();
        },

        subtypeChanged: function () {
          var disease = this.field('disease_code');
          var subtype = this.field('subtype_code');
          var d = disease && disease.selectedOptions[0];
          var s = subtype && subtype.value && subtype.selectedOptions[0];
          this.needsAcuteChronic = !!((d && d.dataset.acuteChronic === '1') ||
                                      (s && s.dataset.acuteChronic === '1'));
          if (!this.needsAcuteChronic && this.field('acute_chronic')) {
            this.field('acute_chronic').value = '';
          }
        },

        dateBlur: function (e) {
          var t = e.target;
          t.value = normaliseDate(t.value);
          this.ageChanged();
        },

        timeBlur: function (e) {
          var t = e.target;
          t.value = normaliseTime(t.value);
        },

        // age ≤ 14 at onset -> the parent's name is required (surveillance.md §2.1)
        ageChanged: function () {
          var onset = toDate(normaliseDate((this.field('onset_date') || {}).value)) || new Date();
          var birth = toDate(normaliseDate((this.field('birth_date') || {}).value));
          var years = null;
          if (birth) {
            years = fullYears(birth, onset);
          } else {
            var value = Number((this.field('age_value') || {}).value);
            var unit = (this.field('age_unit') || {}).value;
            if ((this.field('age_value') || {}).value) {
              years = unit === 'Y' ? value : 0;
            }
          }
          this.isChild = years !== null && years >= 0 && years <= 14;
        },

        occupationChanged: function () {
          var o = this.field('occupation');
          this.isOtherOccupation = !!o && o.value === '17';
        },

        // Resident ID -> sex and birth date at once; then the person registry (scoped, audited)
        lookupPerson: function () {
          var self = this;
          var idType = (this.field('id_type') || {}).value;
          var number = (this.field('id_number').value || '').trim().toUpperCase();
          this.field('id_number').value = number;
          if (!number) return;
          if (idType === '01') {
            var parsed = parseResidentId(number);
            if (!parsed) {
              this.lookupTone = 'text-danger';
              this.lookupText = this.form.dataset.msgBadId;
              return;
            }
            this.field('birth_date').value = parsed.birthDate;
            this.field('sex').value = parsed.sex;
            this.ageChanged();
          }
          this.lookupBusy = true;
          var url = this.form.dataset.lookupUrl + '?id_type=' + encodeURIComponent(idType) +
            '&id_number=' + encodeURIComponent(number);
          fetch(url, { credentials: 'same-origin', headers: { 'Accept': 'application/json' } })
            .then(function (r) { return r.json(); })
            .then(function (data) { self.applyLookup(data); })
            .catch(function () { self.lookupText = ''; })
            .then(function () { self.lookupBusy = false; });
        },

        applyLookup: function (data) {
          if (data.error) {
            this.lookupTone = 'text-danger';
            this.lookupText = data.error;
            return;
          }
          if (data.birth_date && !this.field('birth_date').value) {
            this.field('birth_date').value = data.birth_date;
          }
          if (data.sex && !this.field('sex').value) this.field('sex').value = String(data.sex);
          var p = (data.persons || [])[0];
          if (!p) {
            this.lookupTone = 'text-muted';
            this.lookupText = data.message || '';
            this.ageChanged();
            return;
          }
          var name = this.field('patient_name');
          if (!name.value) name.value = p.name;
          if (p.birth_date && !this.field('birth_date').value) {
            this.field('birth_date').value = p.birth_date;
          }
          if (p.phone_masked && !this.field('phone').value) {
            this.field('phone').placeholder = p.phone_masked;
          }
          if (p.township_code && !this.field('address_township').value) {
            this.setAddress(p.township_code, p.address_unit_code);
          }
          this.lookupTone = 'text-success';
          this.lookupText = data.message;
          this.ageChanged();
          this.form.dispatchEvent(new Event('change', { bubbles: true }));
        },

        setAddress: function (townshipCode, unitCode) {
          var township = this.field('address_township');
          var community = this.field('address_community');
          township.value = townshipCode;
          if (!window.htmx || !community || unitCode === townshipCode) return;
          window.htmx.ajax('GET', township.dataset.communitiesUrl + '?township=' +
                           encodeURIComponent(townshipCode),
                           { target: community, swap: 'innerHTML' })
            .then(function () { community.value = unitCode; });
        },

        // live check answer (HTMX partial): mark the fields the user has already touched
        showLiveErrors: function () {
          var self = this;
          this.form.querySelectorAll('[data-live-error]').forEach(function (el) {
            el.classList.remove('is-invalid');
            el.removeAttribute('data-live-error');
          });
          this.form.querySelectorAll('.live-feedback').forEach(function (el) { el.remove(); });
          var box = document.getElementById('card-check');
          box.querySelectorAll('[data-field]').forEach(function (li) {
            var field = li.dataset.field;
            var input = inputFor(self.form, field);
            var name = input && input.name;
            var shown = name && self.touched[name];
            li.hidden = !shown;
            if (!shown || input.classList.contains('is-invalid')) return;
            input.classList.add('is-invalid');
            input.setAttribute('data-live-error', '1');
            var fb = document.createElement('div');
            fb.className = 'invalid-feedback d-block live-feedback';
            fb.setAttribute('data-field-error', field);
            fb.textContent = li.dataset.message;
            (input.closest('.input-group') || input).insertAdjacentElement('afterend', fb);
          });
          var hidden = box.querySelectorAll('[data-field][hidden]').length;
          var pending = box.querySelector('[data-pending]');
          if (pending) {
            pending.hidden = hidden === 0;
            var n = pending.querySelector('[data-pending-count]');
            if (n) n.textContent = String(hidden);
          }
        }
      };
    });

    // --- the review queue: j/k or arrows move, Enter opens, a approves a clean card ---------
    window.Alpine.data('reviewQueue', function () {
      return {
        index: 0,
        init: function () {
          var self = this;
          this.rows = Array.prototype.slice.call(this.$el.querySelectorAll('[data-queue-row]'));
          this.mark();
          document.addEventListener('keydown', function (e) { self.onKeydown(e); });
        },
        mark: function () {
          var self = this;
          this.rows.forEach(function (r, i) {
            r.classList.toggle('table-active', i === self.index);
            r.setAttribute('aria-selected', i === self.index ? 'true' : 'false');
          });
        },
        onKeydown: function (e) {
          var tag = (e.target.tagName || '').toUpperCase();
          if (tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT') {
            // Enter in the PIN box must not approve whichever card comes first
            if (e.key === 'Enter' && e.target.form === this.$el) e.preventDefault();
            return;
          }
          if (e.ctrlKey || e.metaKey || e.altKey || !this.rows.length) return;
          var row = this.rows[this.index];
          if (e.key === 'j' || e.key === 'ArrowDown') {
            this.index = Math.min(this.index + 1, this.rows.length - 1);
          } else if (e.key === 'k' || e.key === 'ArrowUp') {
            this.index = Math.max(this.index - 1, 0);
          } else if (e.key === 'Enter' || e.key === 'o') {
            var link = row.querySelector('a[data-open]');
            if (link) window.location.href = link.href;
            return;
          } else if (e.key === 'a') {
            var approve = row.querySelector('button[data-approve]');
            if (approve) approve.click();
            return;
          } else {
            return;
          }
          e.preventDefault();
          this.mark();
          this.rows[this.index].scrollIntoView({ block: 'nearest' });
        }
      };
    });
  });

  // Confirm buttons (delete, return ...) ask before they post; no inline onclick under CSP.
  document.addEventListener('click', function (e) {
    var b = e.target.closest && e.target.closest('[data-confirm]');
    if (b && !window.confirm(b.dataset.confirm)) e.preventDefault();
  });

  window.phisNotifiable = { normaliseDate: normaliseDate, normaliseTime: normaliseTime,
                            parseResidentId: parseResidentId };
})();
