// The repayment calculator, offline: the same engine as the server (static/js/schedule.js).
import { t } from "./i18n.js";
import { $, show } from "./ui.js";
import { yuan } from "./format.js";
import { product, fillProducts } from "./boot.js";

function calcProduct() { return product($("#calc-product").value); }

function openCalculator() {
  fillProducts($("#calc-product"));
  fillDefaults($("#calc-form"));
  $("#calc-result").hidden = true;
  $("#calc-error").hidden = true;
  show("view-calc");
}

function fillDefaults(form) {
  const p = calcProduct();
  form.elements.amount.value = p.min_amount;
  form.elements.term_months.value = p.min_term;
  form.elements.rate_percent.value = (Number(p.annual_rate) * 100).toFixed(2);
  form.elements.start.value = new Date().toISOString().slice(0, 10);
  $("#calc-due-label").hidden = p.frequency !== "custom";
}

// "9.6" -> "0.096" by moving the decimal point: no float in the money path.
function percentToFraction(text) {
  const m = /^\s*(\d+)(?:\.(\d*))?\s*$/.exec(text || "");
  if (!m) return null;
  let digits = (m[1] + (m[2] || "")).replace(/^0+(?=\d)/, "");
  const places = (m[2] || "").length + 2;
  while (digits.length <= places) digits = "0" + digits;
  return digits.slice(0, digits.length - places) + "." + digits.slice(digits.length - places);
}

function calculate() {
  const form = $("#calc-form"), p = calcProduct(), error = $("#calc-error");
  const rate = percentToFraction(form.elements.rate_percent.value);
  const term = Number(form.elements.term_months.value);
  const amount = Number(String(form.elements.amount.value).replace(/,/g, ""));
  const problems = [];
  if (rate === null || Number(rate) < Number(p.min_rate) || Number(rate) > Number(p.max_rate))
    problems.push(t("calc_rate", { min: (Number(p.min_rate) * 100).toFixed(2), max: (Number(p.max_rate) * 100).toFixed(2) }));
  if (!Number.isInteger(term) || term < p.min_term || term > p.max_term) problems.push(t("missing_term", { min: p.min_term, max: p.max_term }));
  if (!(amount >= Number(p.min_amount) && amount <= Number(p.max_amount))) problems.push(t("missing_amount", { min: p.min_amount, max: p.max_amount }));
  let result = null;
  if (!problems.length) {
    try {
      result = Schedule.build({
        principal: String(form.elements.amount.value).replace(/,/g, ""), annual_rate: rate, term_months: term,
        method: p.method, start: form.elements.start.value, frequency: p.frequency, first_due: null,
        due_dates: p.frequency === "custom" ? form.elements.due_dates.value.split(",").map((d) => d.trim()).filter(Boolean) : [],
        day_count: p.day_count,
      });
    } catch (e) {
      if (!(e instanceof Schedule.ScheduleError)) throw e;
      problems.push(t(e.message, e.params));
    }
  }
  error.hidden = !problems.length;
  error.textContent = problems.join(" ");
  $("#calc-result").hidden = !result;
  if (!result) return;
  $("#calc-interest").textContent = yuan(result.total_interest);
  $("#calc-total").textContent = yuan(result.total);
  $("#calc-ear").textContent = (Number(result.effective_annual_rate) * 100).toFixed(2) + " %";
  const body = $("#calc-lines");
  body.innerHTML = "";
  result.lines.forEach((line) => {
    const tr = document.createElement("tr");
    [line.seq, line.due_date, yuan(line.principal), yuan(line.interest), yuan(line.total)].forEach((v, i) => {
      const td = document.createElement("td");
      td.textContent = v;
      if (i >= 2) td.className = "money";
      tr.appendChild(td);
    });
    body.appendChild(tr);
  });
}

// ``ready()`` says whether the bootstrap data (the loan types) is there.
export function wireCalculator(ready) {
  $("#open-calculator").addEventListener("click", () => { if (ready()) openCalculator(); });
  $("#calc-product").addEventListener("change", () => fillDefaults($("#calc-form")));
  $("#calc-form").addEventListener("submit", (e) => { e.preventDefault(); calculate(); });
  $("#calc-back").addEventListener("click", () => show("view-home"));
}
