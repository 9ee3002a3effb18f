/* Wall screen recovery (offline, no dependencies): while /wall is open, ask /healthz every few
   seconds. When the server stops answering, show a notice over the last good picture instead of
   a blank or broken screen; when it answers again, reload the page (the URL holds the whole
   state, the playlist position is kept in session storage). */
(function () {
  var failures = 0;
  var missing = 0;  // checks in a row with the server up but no wall on screen
  var PERIOD = 5000;
  function onWall() { return window.location.pathname.replace(/\/+$/, "") === "/wall"; }
  function root() { return document.getElementById("wall-root"); }
  function check() {
    if (!onWall()) { failures = 0; return; }
    var ctrl = new AbortController();
    var timer = setTimeout(function () { ctrl.abort(); }, 4000);
    fetch("/healthz", { cache: "no-store", signal: ctrl.signal })
      .then(function (r) {
        clearTimeout(timer);
        if (!r.ok) { throw new Error("status " + r.status); }
        missing = root() ? 0 : missing + 1;
        if (failures > 0 || missing >= 3) { window.location.reload(); return; }
        failures = 0;
      })
      .catch(function () {
        clearTimeout(timer);
        failures += 1;
        var el = root();
        if (el) { el.classList.add("is-offline"); }
      });
  }
  setInterval(check, PERIOD);
})();
