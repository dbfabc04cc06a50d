// How money, distances and the server's errors read on the phone. Money stays text: no float.
import { t } from "./i18n.js";

export function yuan(s) {
  return "¥" + Number(s).toLocaleString("zh-CN", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

// "50" -> "50.00", "1,200.5" -> "1200.50"; null when it is not an amount.
export function money(text) {
  const s = String(text || "").replace(/[,\s]/g, "");
  const m = /^(\d+)(?:\.(\d{0,2}))?$/.exec(s);
  if (!m) return null;
  return m[1].replace(/^0+(?=\d)/, "") + "." + ((m[2] || "") + "00").slice(0, 2);
}

// An amount as the officer typed it, read as money reads everywhere else ("18000" -> "¥18,000.00");
// left as typed when it is not an amount yet.
export function shownAmount(text) {
  const m = money(text);
  return m === null ? "¥" + text : yuan(m);
}

export function formatDistance(m) {
  const metres = Math.round(m); // rounded before the step, or 999.6 m reads "1000 m" (app/domain/geo.py alike)
  return metres < 1000 ? t("dist_m", { m: metres }) : t("dist_km", { km: (metres / 1000).toFixed(1) });
}

// The server's message and, for a refused manifest or report, what exactly to correct.
export function errorText(error) {
  if (!error) return "";
  const fields = error.fields || {};
  return [error.message].concat(Object.keys(fields).map((k) => fields[k])).join(" ");
}

// The institution's date (China Standard Time) of a moment, "YYYY-MM-DD", whatever the phone's zone:
// the server groups and dates by it.
const BUSINESS_DAY = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit" });
export function businessDay(at) {
  return BUSINESS_DAY.format(at || new Date());
}
