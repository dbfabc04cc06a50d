// The joint-liability group screen (联保小组): name, village and loan type; its 3–5 members, each an
// ordinary application draft captured in the application form; which members are relatives; and
// Finish, allowed when every member is finished and the group keeps the product's rules. Finishing
// queues every member with the group whole. The home's card shows each group's progress.
// A group returned to the officer shows the members the server holds (read-only) and takes new
// members (``additions``), sent together with the group's new total size.
import { t } from "./i18n.js";
import { $, show, banner, button, emptyRow, renderHome, renderChecklist } from "./ui.js";
import { products, product } from "./boot.js";
import { createDraft, openDraft, setGroupReturn } from "./capture.js";
import { registerBackgroundSync, askPersistence } from "./persist.js";
import {
  allGroups, getGroup, putGroup, deleteGroup, rulesOf, membersOf, finishedMember, groupProblems,
  relativePairs, groupEntry, progressOf, additionsOf, additionProblems, additionEntry, remainingOnServer,
} from "./groups.js";
import Sync from "../sync/index.js";
import { shownAmount } from "./format.js";

let current = null;  // the group on screen

export function editingGroup() { return current !== null; }

function groupProducts() { return products().filter((p) => !!p.group); }

export function newGroup() {
  const first = groupProducts()[0];
  if (!first) return Promise.resolve();
  const g = {
    uuid: crypto.randomUUID(), name: "", village: "", product_id: first.id, members: [], relatives: [],
    status: "open", created_at: new Date().toISOString(),
  };
  return putGroup(g).then(() => openGroup(g.uuid));
}

export function openGroup(uuid) {
  return getGroup(uuid).then((g) => {
    if (!g) return goHome();
    current = g;
    show("view-group");
    banner("");
    return render();
  });
}

function save() { return current ? putGroup(current) : Promise.resolve(); }

function render() {
  const g = current, form = $("#view-group");
  $("#group-title").textContent = g.name || t("group_new");
  form.elements.group_name.value = g.name;
  form.elements.group_village.value = g.village;
  const select = $("#group-product");
  select.innerHTML = "";
  groupProducts().forEach((p) => {
    const o = document.createElement("option");
    o.value = p.id;
    o.textContent = p.name;
    select.appendChild(o);
  });
  select.value = g.product_id;
  ["group_name", "group_village"].forEach((n) => { form.elements[n].readOnly = g.status !== "open"; });
  return renderState();
}

// A returned group: the server's members, read-only, then the new ones being added.
function renderReturned() {
  const g = current, select = $("#group-product");
  const adding = g.status === "returned";
  select.disabled = true;
  return additionsOf(g).then((additions) => {
    if (current !== g) return;
    const list = $("#group-members");
    list.innerHTML = "";
    (g.returned ? g.returned.members : []).forEach((m) => {
      const item = document.createElement("li");
      item.className = "row server-member";
      item.dataset.uuid = m.uuid;
      const main = document.createElement("span");
      main.className = "row-main";
      main.textContent = m.name + (m.household_key ? " · " + t("household_no", { key: m.household_key }) : "");
      item.appendChild(main);
      const sub = document.createElement("span");
      sub.className = "row-sub";
      sub.textContent = t("state_" + m.state);
      item.appendChild(sub);
      list.appendChild(item);
    });
    additions.forEach((d) => {
      const item = document.createElement("li");
      item.className = "row new-member";
      item.dataset.uuid = d.uuid;
      const main = document.createElement("span");
      main.className = "row-main";
      const house = (d.borrower.household_key || "").trim();
      main.textContent = t("group_new_member") + " " + (d.borrower.name || "—") + (house ? " · " + t("household_no", { key: house }) : "") + (d.amount ? " · " + shownAmount(d.amount) : "");
      item.appendChild(main);
      const sub = document.createElement("span");
      sub.className = "row-sub";
      sub.textContent = memberStatus(d);
      item.appendChild(sub);
      if (adding && (d.status === "draft" || d.status === "waiting_group" || (d.status === "error" && !d.server))) {
        item.appendChild(button(t("edit"), () => editMember(d)));
      }
      if (!finishedMember(d)) item.classList.add("row-todo");
      list.appendChild(item);
    });
    const box = $("#group-relatives");
    box.innerHTML = "";
    const p = document.createElement("p");
    p.className = "muted";
    p.textContent = t("group_returned_note");
    box.appendChild(p);
    const rules = rulesOf(g.product_id);
    const count = remainingOnServer(g).length + additions.length;
    $("#group-add-member").hidden = !adding || (rules && count >= rules.max_size);
    $("#group-delete").hidden = true;
    $("#group-finish").hidden = !adding;
    const missing = adding ? additionProblems(g, additions).map(([k, p]) => t(k, p)) : [];
    renderChecklist($("#group-missing"), missing, t(adding ? "group_returned_complete" : "group_finished"), $("#group-finish"));
    $("#group-count").textContent = t("group_returned_count", { count, added: additions.length });
  });
}

// Members, relatives, the checklist and the progress (not the typed fields: typing keeps its place).
function renderState() {
  if (current && current.returned) return renderReturned();
  const g = current, select = $("#group-product");
  const open = g.status === "open";
  return membersOf(g).then((members) => {
    if (current !== g) return;
    // The loan type is chosen before the first member: every member borrows under it.
    select.disabled = !open || members.length > 0;
    renderMembers(g, members, open);
    renderRelatives(g, members, open);
    const rules = rulesOf(g.product_id);
    $("#group-add-member").hidden = !open || (rules && members.length >= rules.max_size);
    $("#group-delete").hidden = !open;
    $("#group-finish").hidden = !open;
    const missing = open ? groupProblems(g, members).map(([k, p]) => t(k, p)) : [];
    renderChecklist($("#group-missing"), missing, t(open ? "group_complete" : "group_finished"), $("#group-finish"));
    const pr = progressOf(members);
    $("#group-count").textContent = t("group_progress", pr);
  });
}

function memberStatus(d) {
  if (d.status === "draft") return t("group_member_draft");
  if (d.status === "error" && !d.server) return t("server_said", { message: (d.error && d.error.message) || "" });
  if (d.status === "waiting_group") return t("group_member_ready");
  if (d.status === "sent" || d.server) return t("group_member_sent");
  return t("group_member_queued");
}

function renderMembers(g, members, open) {
  const list = $("#group-members");
  list.innerHTML = "";
  members.forEach((d) => {
    const item = document.createElement("li");
    item.className = "row";
    item.dataset.uuid = d.uuid;
    const main = document.createElement("span");
    main.className = "row-main";
    const house = (d.borrower.household_key || "").trim();
    main.textContent = (d.borrower.name || "—") + (house ? " · " + t("household_no", { key: house }) : "") + (d.amount ? " · " + shownAmount(d.amount) : "");
    item.appendChild(main);
    const sub = document.createElement("span");
    sub.className = "row-sub";
    sub.textContent = memberStatus(d);
    item.appendChild(sub);
    if (d.status === "draft" || d.status === "waiting_group" || (d.status === "error" && !d.server)) {
      item.appendChild(button(t("edit"), () => editMember(d)));
    }
    if (!finishedMember(d)) item.classList.add("row-todo");
    list.appendChild(item);
  });
  if (!members.length) list.appendChild(emptyRow(t("group_no_members")));
}

function renderRelatives(g, members, open) {
  const box = $("#group-relatives");
  box.innerHTML = "";
  const chosen = relativePairs(g, members).map((p) => p.slice().sort().join("|"));
  for (let i = 0; i < members.length; i++) {
    for (let j = i + 1; j < members.length; j++) {
      const a = members[i], b = members[j];
      const label = document.createElement("label");
      label.className = "check";
      const box1 = document.createElement("input");
      box1.type = "checkbox";
      box1.dataset.pair = a.uuid + "|" + b.uuid;
      box1.checked = chosen.indexOf([a.uuid, b.uuid].sort().join("|")) >= 0;
      box1.disabled = !open;
      box1.addEventListener("change", () => {
        const key = [a.uuid, b.uuid].sort().join("|");
        current.relatives = (current.relatives || []).filter((p) => p.slice().sort().join("|") !== key);
        if (box1.checked) current.relatives.push([a.uuid, b.uuid]);
        save().then(render);
      });
      label.appendChild(box1);
      label.appendChild(document.createTextNode(" " + t("group_relatives_pair", { a: a.borrower.name || "—", b: b.borrower.name || "—" })));
      box.appendChild(label);
    }
  }
  if (members.length < 2) {
    const p = document.createElement("p");
    p.className = "muted";
    p.textContent = t("group_relatives_later");
    box.appendChild(p);
  }
}

function editMember(d) {
  const g = current;
  // A member finished but waiting for the group can still be corrected: it opens as a draft again.
  const reopen = d.status === "waiting_group" ? Store.putDraft(Object.assign(d, { status: "draft" })) : Promise.resolve();
  return save().then(() => reopen).then(() => { current = null; return openDraft(d.uuid, g.uuid); });
}

// A new member: an application draft of the group's loan type and village, in the group first.
function addMember() {
  const g = current;
  return createDraft({ product_id: g.product_id, group_uuid: g.uuid, village: g.village }).then((d) => {
    if (g.returned) g.additions.push(d.uuid);
    else g.members.push(d.uuid);
    return save().then(() => {
      current = null;
      return openDraft(d.uuid);
    });
  });
}

// Every member's draft queued with the group entry; the group then ``status`` (a returned group's
// new members wait for the server to hold them: "sending").
function queueMembers(g, drafts, entry, status) {
  const at = new Date().toISOString();
  return Promise.all(drafts.map((d) => {
    d.group = entry;
    if (d.status === "waiting_group") d.status = "queued";
    d.finished_at = d.finished_at || at;
    d.error = null;
    return Store.putDraft(d);
  })).then(() => {
    g.status = status;
    g.finished_at = at;
    return putGroup(g);
  }).then(() => {
    askPersistence();
    registerBackgroundSync();
    return goHome();
  }).then(() => Sync.run());
}

// A returned group's new members: queued with the group's new total size.
function sendAdditions() {
  const g = current;
  return additionsOf(g).then((additions) => {
    if (additionProblems(g, additions).length) return render();
    return queueMembers(g, additions, additionEntry(g, additions), "sending");
  });
}

function finishGroup() {
  const g = current;
  if (g.returned) return sendAdditions();
  return membersOf(g).then((members) => {
    if (groupProblems(g, members).length) return render();
    return queueMembers(g, members, groupEntry(g, members), "finished");
  });
}

function goHome() {
  return save().then(() => {
    current = null;
    show("view-home");
    return renderHome();
  });
}

function removeGroup() {
  const g = current;
  if (!confirm(t("group_confirm_delete"))) return;
  return membersOf(g).then((members) => Promise.all(members.map((d) => Store.deleteDraft(d)))).then(() => {
    current = null;
    return deleteGroup(g.uuid);
  }).then(goHome);
}

// The home's card: each group with its members captured and sent.
export function renderGroupsCard() {
  const card = $("#groups-card");
  card.hidden = !groupProducts().length;
  const list = $("#list-groups");
  return allGroups().then((all) => {
    const groups = Object.keys(all).map((k) => all[k]).sort((a, b) => String(b.created_at).localeCompare(String(a.created_at)));
    return Promise.all(groups.map((g) => (g.returned ? additionsOf(g) : membersOf(g)).then((m) => [g, m]))).then((rows) => {
      list.innerHTML = "";
      rows.forEach(([g, members]) => {
        const pr = progressOf(members);
        // A group whose every member the server holds stays on the card a week, then goes.
        if (g.status === "finished" && !g.returned && pr.sent === pr.total && g.finished_at && Date.now() - Date.parse(g.finished_at) > 7 * 86400000) return;
        const item = document.createElement("li");
        item.className = "row";
        item.dataset.group = g.uuid;
        const main = document.createElement("span");
        main.className = "row-main";
        const p = product(g.product_id);
        main.textContent = (g.name || t("group_new")) + (g.village ? " · " + g.village : "") + (p ? " · " + p.name : "");
        item.appendChild(main);
        const sub = document.createElement("span");
        sub.className = "row-sub group-progress";
        sub.textContent = g.returned
          ? t("group_returned_count", { count: remainingOnServer(g).length + members.length, added: members.length }) + " · " + t("group_returned")
          : t("group_progress", pr) + (g.status === "open" ? " · " + t("group_open") : "");
        item.appendChild(sub);
        const editable = g.status === "open" || g.status === "returned";
        item.appendChild(button(editable ? t("edit") : t("group_view"), () => openGroup(g.uuid)));
        list.appendChild(item);
      });
      if (!list.children.length) list.appendChild(emptyRow(t("group_none")));
    });
  });
}

export function wireGroup() {
  const form = $("#view-group");
  form.addEventListener("submit", (e) => e.preventDefault());
  form.addEventListener("input", (e) => {
    if (!current || current.status !== "open") return;
    const name = e.target.name;
    if (name === "group_name") { current.name = e.target.value; $("#group-title").textContent = current.name || t("group_new"); }
    else if (name === "group_village") current.village = e.target.value;
    else return;
    save().then(renderState);
  });
  $("#group-product").addEventListener("change", (e) => {
    if (!current) return;
    current.product_id = Number(e.target.value);
    save().then(render);
  });
  $("#group-add-member").addEventListener("click", addMember);
  $("#group-finish").addEventListener("click", finishGroup);
  $("#group-back").addEventListener("click", goHome);
  $("#group-delete").addEventListener("click", removeGroup);
  $("#new-group").addEventListener("click", newGroup);
  // A member's form goes back to its group when it is finished or left.
  setGroupReturn(openGroup);
}
