// The notifications card of the home view, from meta "notifications" (kept for offline reading).
import { $ } from "./ui.js";

export function renderNotes() {
  return Store.getMeta("notifications").then((data) => {
    const list = $("#list-notes"), items = (data && data.items) || [];
    list.innerHTML = "";
    items.slice(0, 10).forEach((n) => {
      const li = document.createElement("li");
      li.className = "row" + (n.unread ? " unread" : "");
      const main = document.createElement("span");
      main.className = "row-main";
      main.textContent = n.label + " · " + n.message;
      const sub = document.createElement("span");
      sub.className = "row-sub";
      sub.textContent = new Date(n.at).toLocaleString();
      li.appendChild(main);
      li.appendChild(sub);
      list.appendChild(li);
    });
    $("#notes-card").hidden = !items.length;
    const badge = $("#notes-badge");
    badge.textContent = (data && data.unread) || 0;
    badge.dataset.count = (data && data.unread) || 0;
    $("#notes-read").hidden = !(data && data.unread);
  });
}

export function wireNotes() {
  $("#notes-read").addEventListener("click", () => { Sync.markNotificationsRead().catch(() => {}); });
}
