/* Value formatters for dash-ag-grid (offline): numbers as each language writes them, and
   "no data" instead of an empty cell, 0 or NaN when a rate has no denominator. */
var dagfuncs = (window.dashAgGridFunctions = window.dashAgGridFunctions || {});
dagfuncs.iocNum = function (value, lang) {
  if (value === null || value === undefined || Number.isNaN(value)) {
    return lang === "en" ? "no data" : "không có dữ liệu";
  }
  return Number(value).toLocaleString(lang === "en" ? "en-US" : "vi-VN", { maximumFractionDigits: 2 });
};
