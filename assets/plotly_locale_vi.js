/* Vietnamese for plotly.js: month and day names on date axes and hover labels, the modebar's
   tips. plotly.js registers window.PlotlyLocales when it loads (assets/vendor comes after this
   file); a graph uses it with config.locale = "vi" (dashboards/_figures.py: graph_config). */
window.PlotlyLocales = [{
  moduleType: "locale",
  name: "vi",
  dictionary: {
    "Autoscale": "Tự động co giãn",
    "Box Select": "Chọn theo khung",
    "Compare data on hover": "So sánh các đường khi rê chuột",
    "Double-click on legend to isolate one trace": "Nhấp đúp vào chú giải để chỉ xem một đường",
    "Double-click to zoom back out": "Nhấp đúp để thu nhỏ lại",
    "Download plot as a png": "Tải biểu đồ (PNG)",
    "Download plot": "Tải biểu đồ",
    "Lasso Select": "Chọn tự do",
    "Pan": "Kéo",
    "Reset axes": "Đặt lại trục",
    "Reset": "Đặt lại",
    "Show closest data on hover": "Hiện điểm gần nhất khi rê chuột",
    "Snapshot succeeded": "Đã tải ảnh",
    "Sorry, there was a problem downloading your snapshot!": "Rất tiếc, không tải được ảnh!",
    "Taking snapshot - this may take a few seconds": "Đang tạo ảnh, có thể mất vài giây",
    "Toggle Spike Lines": "Bật/tắt đường gióng",
    "Zoom": "Phóng to theo vùng",
    "Zoom in": "Phóng to",
    "Zoom out": "Thu nhỏ"
  },
  format: {
    days: ["Chủ nhật", "Thứ hai", "Thứ ba", "Thứ tư", "Thứ năm", "Thứ sáu", "Thứ bảy"],
    shortDays: ["CN", "T2", "T3", "T4", "T5", "T6", "T7"],
    months: ["Tháng một", "Tháng hai", "Tháng ba", "Tháng tư", "Tháng năm", "Tháng sáu",
             "Tháng bảy", "Tháng tám", "Tháng chín", "Tháng mười", "Tháng mười một",
             "Tháng mười hai"],
    shortMonths: ["Th1", "Th2", "Th3", "Th4", "Th5", "Th6", "Th7", "Th8", "Th9", "Th10", "Th11",
                  "Th12"],
    date: "%d/%m/%Y"
  }
}];
