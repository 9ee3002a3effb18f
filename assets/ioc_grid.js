/* Value formatters for dash-ag-grid (offline): numbers as each language writes them, with the
   metric's decimals when given (89,0 beside 89,7, not 89), and "no data" instead of an empty
   cell, 0 or NaN when a rate has no denominator. */
var dagfuncs = (window.dashAgGridFunctions = window.dashAgGridFunctions || {});
dagfuncs.iocNum = function (value, lang, digits, signed) {
  if (value === null || value === undefined || Number.isNaN(value)) {
    return lang === "en" ? "no data" : "không có dữ liệu";
  }
  var fixed = digits === undefined ? { maximumFractionDigits: 2 }
    : { minimumFractionDigits: digits, maximumFractionDigits: digits };
  var locale = lang === "en" ? "en-US" : "vi-VN";
  if (signed) {  /* a change: "+1,2", "−0,4" (a minus sign, as the pages write it), "±0,0" */
    var sign = value > 0 ? "+" : value < 0 ? "\u2212" : "\u00b1";
    return sign + Math.abs(value).toLocaleString(locale, fixed);
  }
  return Number(value).toLocaleString(locale, fixed);
};

/* A period as the pages write it, from its ISO start date ("2026-04-01"; "start..end" for a
   whole range): the grid sorts and exports the ISO value, people read "Quý 2/2026". */
var MONTHS_EN = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
dagfuncs.iocDay = function (iso, lang) {
  var y = iso.slice(0, 4), m = iso.slice(5, 7), d = iso.slice(8, 10);
  return lang === "en" ? d + " " + MONTHS_EN[+m - 1] + " " + y : d + "/" + m + "/" + y;
};
dagfuncs.iocPeriod = function (value, grain, lang) {
  if (!value) {
    return "";
  }
  if (grain === "total") {
    return value.split("..").map(function (d) { return dagfuncs.iocDay(d, lang); }).join(" – ");
  }
  var y = value.slice(0, 4), m = +value.slice(5, 7);
  if (grain === "year") {
    return y;
  }
  if (grain === "quarter") {
    var q = Math.floor((m - 1) / 3) + 1;
    return lang === "en" ? "Q" + q + " " + y : "Quý " + q + "/" + y;
  }
  if (grain === "month") {
    return lang === "en" ? MONTHS_EN[m - 1] + " " + y : "Tháng " + m + "/" + y;
  }
  var day = dagfuncs.iocDay(value, lang);
  return grain === "week" ? (lang === "en" ? "Week of " : "Tuần từ ") + day : day;
};

/* Column filters (dashboards/_i18n.py). Text: compared without case or accents, so "ben nghe"
   finds "Phường Bến Nghé" (đ is a letter of its own in Unicode, not d with a mark). */
dagfuncs.iocFold = function (text) {
  if (text === null || text === undefined) {
    return null;
  }
  return String(text).normalize("NFD").replace(/[\u0300-\u036f]/g, "")
    .replace(/đ/g, "d").replace(/Đ/g, "D").toLowerCase();
};

/* Numbers as the viewer's language writes them: "89,7" or "1.234" in Vietnamese, "89.7" or
   "1,234" in English. A Vietnamese entry with a dot that does not group thousands ("89.7")
   is a decimal: rates are typed that way too. Anything else is no number (no filter). */
dagfuncs.iocParseNumber = function (text, lang) {
  if (text === null || text === undefined || String(text).trim() === "") {
    return null;
  }
  var s = String(text).trim();
  if (lang === "en") {
    s = s.replace(/,/g, "");
  } else if (s.indexOf(",") >= 0 || /^-?\d{1,3}(\.\d{3})+$/.test(s)) {
    s = s.replace(/\./g, "").replace(",", ".");
  }
  var n = Number(s);
  return Number.isFinite(n) ? n : null;
};
dagfuncs.iocNumberText = function (value, lang) {
  if (value === null || value === undefined) {
    return null;
  }
  return Number(value).toLocaleString(lang === "en" ? "en-US" : "vi-VN",
    { maximumFractionDigits: 6 });
};
