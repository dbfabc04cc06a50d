// The day's work plan on the home view: tasks by due date with distance from the officer, the
// state of each visit report, and the server's verdict. The plan is kept in meta "plan" (sync/visits.js
// downloads it); reports are their own records until the server confirms them.
import { t, label } from "./i18n.js";
import { $, button, emptyRow, renderHome } from "./ui.js";
import { yuan, formatDistance, errorText } from "./format.js";
import { homeDistance } from "./geo.js";
import { latestReports, reportResult } from "./tasks.js";
import { openVisit } from "./visit.js";
import Sync from "../sync/index.js";

function resultText(result) {
  const dist = result.distance_m === null || result.distance_m === undefined ? null : formatDistance(result.distance_m);
  let text;
  if (result.on_site === true) text = dist ? t("visit_verified", { distance: dist }) : t("visit_verified_nodist");
  else if (result.on_site === false) text = dist ? t("visit_flagged", { distance: dist }) : t("visit_flagged_nodist");
  else text = t("visit_unchecked");
  const flags = (result.flags || []).map((f) => label("flag_" + f, f));
  return flags.length ? text + " · " + t("flags", { flags: flags.join(", ") }) : text;
}

function taskRow(task, report, pos, today) {
  const item = document.createElement("li");
  item.className = "row task";
  item.dataset.task = task.uuid;
  const result = reportResult(task, report);
  item.dataset.state = result ? "done" : report ? report.status : "open";
  const main = document.createElement("span");
  main.className = "row-main";
  main.textContent = [task.kind_label || task.kind, task.borrower.name, task.borrower.village].filter(Boolean).join(" · ");
  item.appendChild(main);

  const sub = document.createElement("span");
  sub.className = "row-sub";
  const overdue = task.due_date < today;
  const due = document.createElement("span");
  due.className = "task-due" + (overdue && !result ? " overdue" : "");
  due.textContent = overdue ? t("overdue_since", { date: task.due_date }) : t("due_on", { date: task.due_date });
  sub.appendChild(due);
  const loan = task.loan || {};
  const bits = [];
  if (loan.next_due_amount) bits.push(t("amount_due", { amount: yuan(loan.next_due_amount) }));
  if (loan.outstanding) bits.push(t("outstanding", { amount: yuan(loan.outstanding) }));
  if (loan.days_past_due > 0) bits.push(t("dpd", { days: loan.days_past_due }));
  const meters = homeDistance(task, pos);
  if (meters !== null) {
    item.dataset.distance = Math.round(meters);
    bits.push(t("distance_away", { distance: formatDistance(meters) }));
  }
  if (bits.length) sub.appendChild(document.createTextNode(" · " + bits.join(" · ")));
  item.appendChild(sub);

  const status = document.createElement("span");
  status.className = "row-sub task-status";
  if (result) {
    item.classList.add("task-done", result.on_site === true ? "task-verified" : result.on_site === false ? "task-flagged" : "task-unchecked");
    if (result.distance_m !== null && result.distance_m !== undefined) item.dataset.serverDistance = result.distance_m;
    status.textContent = resultText(result);
  } else if (report && report.status === "queued") {
    item.classList.add("task-waiting");
    status.textContent = report.next_attempt_at ? t("visit_retrying") : t("visit_waiting");
  } else if (report && report.status === "error") {
    item.classList.add("row-error");
    status.textContent = t("server_said", { message: errorText(report.error) });
  } else if (report && report.status === "closed") {
    item.classList.add("task-closed", "row-error");
    status.textContent = t("visit_closed", { message: (report.error && report.error.message) || "" });
  } else if (report && report.status === "draft") {
    status.textContent = report.error ? t("server_said", { message: errorText(report.error) }) : t("visit_started");
    if (report.error) item.classList.add("row-error");
  }
  if (status.textContent) item.appendChild(status);

  if (!result && (!report || report.status === "draft" || report.status === "error")) {
    item.appendChild(button(t("visit"), () => openVisit(task.uuid), report && report.error ? "primary" : ""));
  } else if (report && report.status === "closed") {
    item.appendChild(button(t("dismiss"), () => {
      if (!confirm(t("confirm_discard_report"))) return;
      Store.deleteReport(report).then(renderHome);
    }, "link"));
  }
  return item;
}

// Draws the plan; resolves to the number of reports not yet confirmed by the server (for the badge).
export function renderPlan() {
  return Promise.all([Store.getMeta("plan"), Store.allReports(), Store.getMeta("last_position"), Store.getMeta("plan_error")]).then(([plan, reports, pos, planError]) => {
    const today = Sync.localDay();
    const byTask = latestReports(reports);
    const tasks = ((plan && plan.tasks) || []).slice();
    const listed = {};
    tasks.forEach((task) => { listed[task.uuid] = true; });
    // Reports for tasks no longer in the plan stay visible until they are settled (sent ones: that day).
    Object.keys(byTask).forEach((uuid) => {
      const rep = byTask[uuid];
      if (listed[uuid] || !rep.task) return;
      if (rep.status === "sent" && Sync.localDay(new Date(rep.sent_at)) !== today) return;
      tasks.push(rep.task);
    });
    tasks.sort((a, b) => {
      const da = reportResult(a, byTask[a.uuid]) ? 1 : 0, db = reportResult(b, byTask[b.uuid]) ? 1 : 0;
      return da - db || String(a.due_date).localeCompare(String(b.due_date)) || String(a.borrower.name).localeCompare(String(b.borrower.name));
    });
    const list = $("#list-plan");
    list.innerHTML = "";
    tasks.forEach((task) => list.appendChild(taskRow(task, byTask[task.uuid], pos, today)));
    if (!tasks.length) list.appendChild(emptyRow(plan ? t("plan_none") : t("plan_not_loaded")));
    const info = $("#plan-info");
    info.className = "muted";
    info.textContent = plan ? t("plan_of", { date: plan.date, time: new Date(plan.fetched_at).toLocaleString() }) : "";
    if (plan && plan.date < today) {
      info.className = "warn";
      info.textContent = t("plan_old", { date: plan.date });
    }
    const err = $("#plan-error");
    const showError = planError && (!plan || planError.at > plan.fetched_at);
    err.hidden = !showError;
    err.textContent = showError ? t("plan_error", { message: planError.message || t("no_connection") }) : "";
    $("#position-info").textContent = pos ? t("position_known", { acc: pos.accuracy_m, time: new Date(pos.at).toLocaleTimeString() }) : t("position_unknown");
    return reports.filter((rep) => rep.status === "queued" || rep.status === "error").length;
  });
}

export function locateMe() {
  $("#position-info").textContent = t("gps_waiting");
  return Bridge.getPosition().then((pos) => Store.setMeta("last_position", pos).then(renderPlan), (err) => {
    $("#position-info").textContent = t("gps_error", { reason: err.message });
  });
}
