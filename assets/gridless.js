/* On a page served without the data-grid bundle (dashboards/_index.py: the wall), an in-app
   navigation (a nav link, a click on a tile) would render a page whose grid cannot load. Such
   navigations become full page loads instead: Dash's links and dcc.Location both go through
   history.pushState. */
(function () {
  var push = window.history.pushState;
  window.history.pushState = function (state, title, url) {
    if (!window.dash_ag_grid && url !== undefined && url !== null) {
      window.location.assign(url);
      return;
    }
    return push.apply(this, arguments);
  };
})();
