// Notifications (decisions, new tasks, escalations): the last ones kept for offline reading.
import { Halt, emit, api } from "./core.js";

function fetchNotifications() {
  return api("GET", "/api/v1/notifications").then(function (resp) {
    return Store.setMeta("notifications", resp).then(emit);
  }, function (err) { if (err instanceof Halt) throw err; });
}

function markNotificationsRead() {
  return api("POST", "/api/v1/notifications/read", {}).then(fetchNotifications);
}

export { fetchNotifications, markNotificationsRead };
