// Joint-liability groups (联保小组) on the phone, the data side: kept in IndexedDB meta "groups"
// ({uuid: group}) so a group is formed offline. A group: {uuid, name, village, product_id, members:
// [draft uuid …], relatives: [[draft uuid, draft uuid] …], status: "open" | "finished", created_at}.
// Each member is an ordinary application draft carrying ``group_uuid``; a finished member waits
// (status "waiting_group") until the group is finished, then every member is queued with the group
// whole (``d.group``), which its manifest carries (app/services/group_capture.py checks it again).
// A group the server returned to the officer (``/api/v1/returned``, sync/applications.js) has status
// "returned" and ``returned``: {size, members: [{uuid, name, household_key, state}], relatives} as the
// server holds it; the new members the officer adds are drafts listed in ``additions``, checked
// with the members that remain (neither rejected nor withdrawn) and sent with the new total size.
import { product } from "./boot.js";

export function allGroups() {
  return Store.getMeta("groups").then((g) => g || {});
}

export function getGroup(uuid) {
  return allGroups().then((all) => all[uuid] || null);
}

export function putGroup(group) {
  return allGroups().then((all) => {
    group.updated_at = new Date().toISOString();
    all[group.uuid] = group;
    return Store.setMeta("groups", all);
  });
}

export function deleteGroup(uuid) {
  return allGroups().then((all) => {
    delete all[uuid];
    return Store.setMeta("groups", all);
  });
}

// The product's group rules from the bootstrap (null: not lent to groups).
export function rulesOf(productId) {
  const p = product(productId);
  return (p && p.group) || null;
}

// The members' drafts, in the group's order (a deleted draft drops out).
export function membersOf(group) {
  return Promise.all(group.members.map((u) => Store.getDraft(u))).then((ds) => ds.filter(Boolean));
}

export function finishedMember(d) { return d.status !== "draft" && !(d.status === "error" && !d.server); }

// What stops the group from being finished, as [msgKey, params] pairs (the server checks the same
// rules again with app/domain/groups.py).
export function groupProblems(group, members) {
  const out = [];
  const rules = rulesOf(group.product_id);
  if (!group.name.trim()) out.push(["group_missing_name", {}]);
  if (!group.village.trim()) out.push(["group_missing_village", {}]);
  if (!rules) { out.push(["group_product", {}]); return out; }
  if (members.length < rules.min_size || members.length > rules.max_size) {
    out.push(["group_size", { min: rules.min_size, max: rules.max_size, count: members.length }]);
  }
  members.filter((d) => !finishedMember(d)).forEach((d) => out.push(["group_member_open", { name: d.borrower.name || "—" }]));
  const households = {};
  members.forEach((d) => {
    const key = (d.borrower.household_key || "").trim();
    if (!key) return;
    (households[key] = households[key] || []).push(d.borrower.name || "—");
  });
  Object.keys(households).forEach((k) => {
    if (households[k].length > 1) out.push(["group_one_household", { names: households[k].join("、"), key: k }]);
  });
  const ids = {};
  members.forEach((d) => { ids[d.borrower.id_number] = (ids[d.borrower.id_number] || 0) + 1; });
  members.filter((d) => ids[d.borrower.id_number] > 1 && d.borrower.id_number).slice(0, 1)
    .forEach((d) => out.push(["group_same_person", { name: d.borrower.name }]));
  const pairs = relativePairs(group, members);
  if (pairs.length > rules.max_relative_pairs) out.push(["group_relatives", { count: pairs.length, max: rules.max_relative_pairs }]);
  return out;
}

// The declared pairs still naming two members.
export function relativePairs(group, members) {
  const uuids = members.map((d) => d.uuid);
  return (group.relatives || []).filter((p) => uuids.indexOf(p[0]) >= 0 && uuids.indexOf(p[1]) >= 0);
}

// What every member's manifest carries.
export function groupEntry(group, members) {
  return {
    uuid: group.uuid, name: group.name.trim(), village: group.village.trim(), size: members.length,
    relatives: relativePairs(group, members),
  };
}

// Members captured (finished on the phone) and sent (the server holds the application).
export function progressOf(members) {
  return {
    total: members.length,
    captured: members.filter(finishedMember).length,
    sent: members.filter((d) => !!d.server).length,
  };
}

// A returned group: the server's members that still count (not rejected or withdrawn).
const ENDED = ["rejected", "withdrawn"];
export function remainingOnServer(group) {
  return ((group.returned && group.returned.members) || []).filter((m) => ENDED.indexOf(m.state) < 0);
}

export function additionsOf(group) {
  return Promise.all((group.additions || []).map((u) => Store.getDraft(u))).then((ds) => ds.filter(Boolean));
}

// What stops the new members of a returned group from being sent, as [msgKey, params] pairs: the
// rules over the members that remain on the server and the new ones (the server checks them again).
export function additionProblems(group, additions) {
  const out = [];
  const rules = rulesOf(group.product_id);
  if (!rules) { out.push(["group_product", {}]); return out; }
  const remaining = remainingOnServer(group);
  if (!additions.length) out.push(["group_add_one", {}]);
  const count = remaining.length + additions.length;
  if (count < rules.min_size || count > rules.max_size) out.push(["group_size", { min: rules.min_size, max: rules.max_size, count }]);
  additions.filter((d) => !finishedMember(d)).forEach((d) => out.push(["group_member_open", { name: d.borrower.name || "—" }]));
  const households = {};
  remaining.map((m) => [m.household_key, m.name]).concat(additions.map((d) => [d.borrower.household_key, d.borrower.name]))
    .forEach(([key, name]) => {
      const k = (key || "").trim();
      if (k) (households[k] = households[k] || []).push(name || "—");
    });
  Object.keys(households).forEach((k) => {
    if (households[k].length > 1) out.push(["group_one_household", { names: households[k].join("、"), key: k }]);
  });
  const ids = {};
  additions.forEach((d) => { ids[d.borrower.id_number] = (ids[d.borrower.id_number] || 0) + 1; });
  additions.filter((d) => ids[d.borrower.id_number] > 1 && d.borrower.id_number).slice(0, 1)
    .forEach((d) => out.push(["group_same_person", { name: d.borrower.name }]));
  return out;
}

// What each new member's manifest carries: the group's new total and its relatives as on the server.
export function additionEntry(group, additions) {
  return {
    uuid: group.uuid, name: group.name, village: group.village,
    size: remainingOnServer(group).length + additions.length, relatives: (group.returned && group.returned.relatives) || [],
  };
}
