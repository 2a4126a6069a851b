// The board's tables sort by a column (click or Enter on its header; again to reverse) and
// show only open-weights models or one organisation. Models without a score sort last.
(function () {
  function value(row, col) {
    var cell = row.cells[col];
    var v = cell ? cell.getAttribute('data-value') : null;
    if (v === null || v === '') return null;
    var n = parseFloat(v);
    return isNaN(n) ? v.toLowerCase() : n;
  }
  document.querySelectorAll('table.board').forEach(function (table) {
    var body = table.tBodies[0];
    var heads = table.querySelectorAll('th[data-col]');
    heads.forEach(function (th) {
      th.tabIndex = 0;
      function sort() {
        var col = parseInt(th.getAttribute('data-col'), 10);
        var desc = th.getAttribute('aria-sort') !== 'descending';
        heads.forEach(function (other) { other.removeAttribute('aria-sort'); });
        th.setAttribute('aria-sort', desc ? 'descending' : 'ascending');
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = value(a, col), y = value(b, col);
          if (x === null || y === null) return (x === null) - (y === null);
          var order = x < y ? -1 : x > y ? 1 : 0;
          return desc ? -order : order;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      }
      th.addEventListener('click', sort);
      th.addEventListener('keydown', function (e) { if (e.key === 'Enter') sort(); });
    });
  });
  var open = document.getElementById('only-open');
  var org = document.getElementById('organization');
  function filter() {
    document.querySelectorAll('table.board tbody tr').forEach(function (row) {
      var shown = (!open.checked || row.getAttribute('data-access') === 'open weights') &&
        (!org.value || row.getAttribute('data-org') === org.value);
      row.hidden = !shown;
    });
  }
  if (open && org) {
    open.addEventListener('change', filter);
    org.addEventListener('change', filter);
  }
})();
