// The home view: returned applications to amend, drafts, the outbox with progress, the plan,
// notifications and what was sent; the badge counts what has not reached the server.
import { t, label } from "./i18n.js";
import { $, button, emptyRow } from "./ui.js";
import { errorText, shownAmount } from "./format.js";
import { product } from "./boot.js";
import { openDraft } from "./capture.js";
import { renderPlan } from "./plan.js";
import { renderNotes } from "./notes.js";
import { renderCollections } from "./collect.js";
import { renderGroupsCard, openGroup } from "./group.js";
import { renderCampaignsCard } from "./campaign.js";

function progressOf(d) {
  let total = 0, done = 0;
  d.photos.forEach((p) => { total += p.size; done += p.confirmed ? p.size : Math.min(p.progress || 0, p.size); });
  return total ? done / total : 1;
}

function row(d, sub, actions) {
  const item = document.createElement("li");
  item.className = "row";
  item.dataset.uuid = d.uuid;
  const main = document.createElement("span");
  main.className = "row-main";
  const p = product(d.product_id);
  main.textContent = (d.borrower.name || "—") + (p ? " · " + p.name : "") + (d.amount ? " · " + shownAmount(d.amount) : "");
  item.appendChild(main);
  const subEl = document.createElement("span");
  subEl.className = "row-sub";
  subEl.textContent = sub;
  item.appendChild(subEl);
  (actions || []).forEach((a) => item.appendChild(a));
  return item;
}

function outboxStatus(d) {
  if (d.status === "error") return t("server_said", { message: errorText(d.error) });
  if (d.waiting_wifi) return t("wifi_wait");
  if (d.next_attempt_at) return t("retrying");
  return d.server ? t("photos_arriving") : t("sending");
}

export function renderHome() {
  return Store.allDrafts().then((drafts) => {
    drafts.sort((a, b) => String(b.updated_at).localeCompare(String(a.updated_at)));
    const lists = { todo: $("#list-todo"), drafts: $("#list-drafts"), outbox: $("#list-outbox"), sent: $("#list-sent") };
    Object.keys(lists).forEach((k) => { lists[k].innerHTML = ""; });
    let unsent = 0;
    drafts.forEach((d) => {
      if (d.status === "returned") {
        const why = d.error ? t("server_said", { message: errorText(d.error) }) : t("todo_reason", { who: d.todo.by, reason: d.todo.reason });
        const todo = row(d, why, [button(t("amend"), () => openDraft(d.uuid), "primary")]);
        todo.classList.add("row-todo");
        lists.todo.appendChild(todo);
      } else if (d.status === "draft" || (d.status === "error" && !d.server)) {
        const sub = d.error ? t("server_said", { message: errorText(d.error) }) : new Date(d.updated_at).toLocaleString();
        const draft = row(d, sub, [button(t("edit"), () => openDraft(d.uuid))]);
        if (d.error) draft.classList.add("row-error");
        lists.drafts.appendChild(draft);
      } else if (d.status === "waiting_group") {
        // Finished, waiting for its group to be finished: all members are sent together.
        lists.drafts.appendChild(row(d, t("group_member_ready"), [button(t("group_view"), () => openGroup(d.group_uuid))]));
      } else if (d.status === "sent") {
        lists.sent.appendChild(row(d, label("state_" + d.server.state, d.server.state)));
      } else {
        unsent += 1;
        const bar = document.createElement("progress");
        bar.max = 100;
        bar.value = Math.round(progressOf(d) * 100);
        const waiting = row(d, outboxStatus(d), [bar]);
        if (d.status === "error") waiting.classList.add("row-error");
        lists.outbox.appendChild(waiting);
      }
    });
    $("#todo-card").hidden = !lists.todo.children.length;
    [["drafts", "no_drafts"], ["outbox", "nothing_waiting"], ["sent", "nothing_sent"]].forEach(([list, key]) => {
      if (!lists[list].children.length) lists[list].appendChild(emptyRow(t(key)));
    });
    renderNotes();
    return Promise.all([renderPlan(), renderCollections(), renderGroupsCard(), renderCampaignsCard()]).then(([reportsUnsent, collectionsUnsent, , surveysUnsent]) => {
      const badge = $("#sync-badge");
      badge.textContent = unsent + reportsUnsent + collectionsUnsent + surveysUnsent;
      badge.dataset.count = unsent + reportsUnsent + collectionsUnsent + surveysUnsent;
    }).then(() => Store.getMeta("last_sync")).then((last) => {
      $("#last-sync").textContent = last ? t("last_sync", { time: new Date(last).toLocaleString() }) : "";
    });
  });
}

export function renderNet() {
  const el = $("#net-status");
  el.textContent = navigator.onLine ? t("online") : t("offline");
  el.className = "net " + (navigator.onLine ? "net-on" : "net-off");
}

// A retired phone sends what it holds but starts nothing new.
export function renderDeviceStatus(status) {
  const retired = status === "retired";
  $("#new-application").disabled = retired;
  $("#new-collection").disabled = retired;
  $("#retired-note").hidden = !retired;
  // Held by the server for another SIM card (or none) until the admin approves the phone again.
  const simNote = $("#sim-note");
  simNote.hidden = status !== "sim_changed";
  simNote.textContent = status === "sim_changed" ? t("sim_changed") : "";
}
