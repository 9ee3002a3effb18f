/* The wall's figure-font scale (1920 px wide = 1, in quarter steps), sent with every request
   as a cookie so the server renders a 4K wall at its size the first time (dashboards/wall.py
   SCALE_COOKIE) instead of rendering it twice. Set before Dash asks for the layout. */
(function () {
  var s = Math.max(0.75, Math.round(window.innerWidth / 1920 * 4) / 4);
  document.cookie = "ioc_screen_scale=" + s + "; path=/; SameSite=Strict";
})();
