/* Value formatters for dash-ag-grid (offline): numbers as each language writes them, with the
   metric's decimals when given (89,0 beside 89,7, not 89), and "no data" instead of an empty
   cell, 0 or NaN when a rate has no denominator. */
var dagfuncs = (window.dashAgGridFunctions = window.dashAgGridFunctions || {});
dagfuncs.iocNum = function (value, lang, digits) {
  if (value === null || value === undefined || Number.isNaN(value)) {
    return lang === "en" ? "no data" : "không có dữ liệu";
  }
  var fixed = digits === undefined ? { maximumFractionDigits: 2 }
    : { minimumFractionDigits: digits, maximumFractionDigits: digits };
  return Number(value).toLocaleString(lang === "en" ? "en-US" : "vi-VN", fixed);
};
