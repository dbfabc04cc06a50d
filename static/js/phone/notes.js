// The notifications card of the home view, below the officer's own work: one line per kind and
// day ("Approved · 3 · today"), opened to see each one. From meta "notifications", kept offline.
import { t } from "./i18n.js";
import { $ } from "./ui.js";
import { businessDay } from "./format.js";
import Sync from "../sync/index.js";

const SHOWN_GROUPS = 8;

function line(cls, text) {
  const span = document.createElement("span");
  span.className = cls;
  span.textContent = text;
  return span;
}

// A phone that synced with an older server has only a flat list: one group per notification.
function groupsOf(data) {
  if (data.groups) return data.groups;
  return (data.items || []).map((n) => ({ label: n.label, day: businessDay(new Date(n.at)), count: 1, unread: n.unread ? 1 : 0, items: [n] }));
}

function groupRow(g, today, opened) {
  const item = document.createElement("li");
  item.className = "row notice-group" + (g.unread ? " unread" : "");
  item.dataset.count = g.count;
  item.dataset.group = g.label + "|" + g.day;
  const latest = g.items[0];
  const when = g.day === today ? t("today") : g.day;
  if (g.count === 1) {
    item.appendChild(line("row-main", g.label + " · " + latest.message));
    item.appendChild(line("row-sub", new Date(latest.at).toLocaleString()));
    return item;
  }
  const details = document.createElement("details");
  details.open = opened.has(item.dataset.group);
  const summary = document.createElement("summary");
  summary.appendChild(line("row-main", g.label + " · " + t("notes_count", { count: g.count }) + " · " + when));
  summary.appendChild(line("row-sub", latest.message + " …" + (g.unread ? " · " + t("notes_new", { count: g.unread }) : "")));
  details.appendChild(summary);
  const list = document.createElement("ul");
  list.className = "rows";
  g.items.forEach((n) => {
    const li = document.createElement("li");
    li.className = "row" + (n.unread ? " unread" : "");
    li.appendChild(line("row-main", n.message));
    li.appendChild(line("row-sub", new Date(n.at).toLocaleString()));
    list.appendChild(li);
  });
  details.appendChild(list);
  item.appendChild(details);
  return item;
}

export function renderNotes() {
  return Store.getMeta("notifications").then((data) => {
    const list = $("#list-notes"), groups = data ? groupsOf(data) : [];
    const today = businessDay();
    // The home is drawn again after every sync (the plan is renewed every few minutes): a group the
    // officer has opened stays open.
    const opened = new Set(Array.from(list.querySelectorAll("details[open]")).map((d) => d.closest("li").dataset.group));
    list.innerHTML = "";
    groups.slice(0, SHOWN_GROUPS).forEach((g) => list.appendChild(groupRow(g, today, opened)));
    $("#notes-card").hidden = !groups.length;
    const badge = $("#notes-badge");
    badge.textContent = (data && data.unread) || 0;
    badge.dataset.count = (data && data.unread) || 0;
    $("#notes-read").hidden = !(data && data.unread);
  });
}

export function wireNotes() {
  $("#notes-read").addEventListener("click", () => { Sync.markNotificationsRead().catch(() => {}); });
}
