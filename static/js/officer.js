// The officer's capture app: home (work plan, drafts, outbox, sent), the application form and
// the visit report form.
// Works offline: everything is read from and written to IndexedDB; Sync sends it when it can.
(function () {
  "use strict";
  var T = JSON.parse(document.getElementById("i18n").textContent);
  var $ = function (sel, root) { return (root || document).querySelector(sel); };
  var $$ = function (sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); };
  var boot = null;      // {products, borrowers, settings} cached from /api/v1/bootstrap
  var current = null;   // the draft being edited
  var saveTimer = null;
  var objectUrls = [];

  function t(key, params) {
    var text = T[key] || key;
    return text.replace(/%\((\w+)\)s/g, function (_, name) { return params && params[name] !== undefined ? params[name] : ""; });
  }

  function show(id) {
    ["view-unsupported", "view-unenrolled", "view-home", "view-draft", "view-calc", "view-visit"].forEach(function (v) { $("#" + v).hidden = v !== id; });
    window.scrollTo(0, 0);
  }

  function banner(text, kind) {
    var b = $("#banner");
    b.innerHTML = "";
    if (!text) return;
    var p = document.createElement("p");
    p.className = "flash flash-" + (kind || "info");
    p.setAttribute("role", kind === "error" || kind === "warning" ? "alert" : "status");
    p.textContent = text;
    b.appendChild(p);
  }

  function product(id) {
    return ((boot && boot.products) || []).filter(function (p) { return p.id === Number(id); })[0] || null;
  }

  // --- what is still missing ------------------------------------------------------------

  function amending(d) { return d.status === "returned"; }

  function photoCounts(d, item) { return d.photos.filter(function (ph) { return ph.item_id === item.id; }).length; }

  // A returned application: its sent details are fixed; it needs something new for the director.
  function missingAmendment(d) {
    var out = [];
    var p = product(d.product_id);
    if (p) p.items.forEach(function (item) {
      var count = photoCounts(d, item);
      if (count < item.required) out.push(t("missing_photos", { item: item.name, count: count, required: item.required }));
    });
    var added = d.photos.some(function (ph) { return !ph.confirmed; });
    if (!added && !(d.resubmit_note || "").trim()) out.push(t("missing_amendment"));
    return out;
  }

  function missing(d) {
    if (amending(d)) return missingAmendment(d);
    var out = [];
    var b = d.borrower;
    if (!b.name || !b.name.trim()) out.push(t("missing_name"));
    if (!IdCard.parse(b.id_number).ok) out.push(t("missing_id"));
    if (b.phone && !/^1[3-9]\d{9}$/.test(b.phone.replace(/[\s-]/g, ""))) out.push(t("missing_phone"));
    var p = product(d.product_id);
    if (!p) {
      out.push(t("missing_product"));
    } else {
      p.items.forEach(function (item) {
        var count = d.photos.filter(function (ph) { return ph.item_id === item.id; }).length;
        if (count < item.required) out.push(t("missing_photos", { item: item.name, count: count, required: item.required }));
      });
      var amount = Number(String(d.amount).replace(/,/g, ""));
      if (!(amount > 0) || amount < Number(p.min_amount) || amount > Number(p.max_amount) || !/^\d+(\.\d{1,2})?$/.test(String(d.amount).replace(/,/g, "")))
        out.push(t("missing_amount", { min: p.min_amount, max: p.max_amount }));
      var term = Number(d.term_months);
      if (!Number.isInteger(term) || term < p.min_term || term > p.max_term) out.push(t("missing_term", { min: p.min_term, max: p.max_term }));
    }
    if (!d.gps) out.push(t("missing_gps"));
    else if (d.gps.accuracy_m > boot.settings.gps_max_accuracy_m && !(d.gps_note || "").trim()) out.push(t("missing_gps_note"));
    if (!(d.purpose || "").trim()) out.push(t("missing_purpose"));
    return out;
  }

  // --- home -------------------------------------------------------------------------------

  // The server's message and, for a refused manifest, what exactly to correct.
  function errorText(error) {
    if (!error) return "";
    var fields = error.fields || {};
    return [error.message].concat(Object.keys(fields).map(function (k) { return fields[k]; })).join(" ");
  }

  function progressOf(d) {
    var total = 0, done = 0;
    d.photos.forEach(function (p) { total += p.size; done += p.confirmed ? p.size : Math.min(p.progress || 0, p.size); });
    return total ? done / total : 1;
  }

  function li(d, sub, actions) {
    var item = document.createElement("li");
    item.className = "row";
    item.dataset.uuid = d.uuid;
    var main = document.createElement("span");
    main.className = "row-main";
    var p = product(d.product_id);
    main.textContent = (d.borrower.name || "—") + (p ? " · " + p.name : "") + (d.amount ? " · ¥" + d.amount : "");
    item.appendChild(main);
    var subEl = document.createElement("span");
    subEl.className = "row-sub";
    subEl.textContent = sub;
    item.appendChild(subEl);
    (actions || []).forEach(function (a) { item.appendChild(a); });
    return item;
  }

  function button(label, onClick, cls) {
    var b = document.createElement("button");
    b.type = "button";
    b.textContent = label;
    if (cls) b.className = cls;
    b.addEventListener("click", onClick);
    return b;
  }

  function renderHome() {
    return Store.allDrafts().then(function (drafts) {
      drafts.sort(function (a, b) { return String(b.updated_at).localeCompare(String(a.updated_at)); });
      var lists = { todo: $("#list-todo"), drafts: $("#list-drafts"), outbox: $("#list-outbox"), sent: $("#list-sent") };
      Object.keys(lists).forEach(function (k) { lists[k].innerHTML = ""; });
      var unsent = 0;
      drafts.forEach(function (d) {
        if (d.status === "returned") {
          var why = d.error ? t("server_said", { message: errorText(d.error) }) : t("todo_reason", { who: d.todo.by, reason: d.todo.reason });
          var todo = li(d, why, [button(t("amend"), function () { openDraft(d.uuid); }, "primary")]);
          todo.classList.add("row-todo");
          lists.todo.appendChild(todo);
        } else if (d.status === "draft" || (d.status === "error" && !d.server)) {
          var sub = d.error ? t("server_said", { message: errorText(d.error) }) : new Date(d.updated_at).toLocaleString();
          var row = li(d, sub, [button(t("edit"), function () { openDraft(d.uuid); })]);
          if (d.error) row.classList.add("row-error");
          lists.drafts.appendChild(row);
        } else if (d.status === "sent") {
          lists.sent.appendChild(li(d, T["state_" + d.server.state] || d.server.state));
        } else {
          unsent += 1;
          var status = d.status === "error" ? t("server_said", { message: errorText(d.error) })
            : d.waiting_wifi ? t("wifi_wait")
            : d.next_attempt_at ? t("retrying")
            : d.server ? t("photos_arriving") : t("sending");
          var bar = document.createElement("progress");
          bar.max = 100;
          bar.value = Math.round(progressOf(d) * 100);
          var row2 = li(d, status, [bar]);
          if (d.status === "error") row2.classList.add("row-error");
          lists.outbox.appendChild(row2);
        }
      });
      $("#todo-card").hidden = !lists.todo.children.length;
      [["drafts", "no_drafts"], ["outbox", "nothing_waiting"], ["sent", "nothing_sent"]].forEach(function (pair) {
        if (!lists[pair[0]].children.length) {
          var empty = document.createElement("li");
          empty.className = "muted";
          empty.textContent = t(pair[1]);
          lists[pair[0]].appendChild(empty);
        }
      });
      renderNotifications();
      return renderPlan().then(function (reportsUnsent) {
        var badge = $("#sync-badge");
        badge.textContent = unsent + reportsUnsent;
        badge.dataset.count = unsent + reportsUnsent;
      }).then(function () { return Store.getMeta("last_sync"); }).then(function (last) {
        $("#last-sync").textContent = last ? t("last_sync", { time: new Date(last).toLocaleString() }) : "";
      });
    });
  }

  function renderStorage() {
    if (!navigator.storage || !navigator.storage.estimate) return;
    navigator.storage.estimate().then(function (e) {
      var mb = function (x) { return Math.round(x / 1048576); };
      var free = (e.quota || 0) - (e.usage || 0);
      $("#storage-info").textContent = t("storage", { used: mb(e.usage || 0), quota: mb(e.quota || 0) });
      if (e.quota && free < 50 * 1048576) banner(t("storage_low", { free: mb(free) }), "warning");
    });
  }

  // --- the application form ---------------------------------------------------------------

  function newDraft() {
    var first = boot.products[0];
    var d = {
      uuid: crypto.randomUUID(), status: "draft", created_at: new Date().toISOString(),
      borrower: { mode: "new", uuid: crypto.randomUUID(), name: "", id_number: "", phone: "", village: "", address: "" },
      product_id: first ? first.id : null, photos: [], gps: null, gps_note: "", amount: "", term_months: "", purpose: "",
    };
    return Store.putDraft(d).then(function () { return openDraft(d.uuid); });
  }

  function openDraft(uuid) {
    return Store.getDraft(uuid).then(function (d) {
      if (!d) return;
      if (d.status === "error" && !d.server) d.status = "draft";  // refused manifest: correct and send again
      current = d;
      fillForm(d);
      show("view-draft");
      if (d.error) banner(t("server_said", { message: errorText(d.error) }), "error");
      else banner("");
    });
  }

  function fillForm(d) {
    var form = $("#view-draft");
    var amend = amending(d);
    // What was sent stands as sent: a returned application only takes photos and a note.
    ["#step-borrower", "#step-product", "#step-gps", "#step-loan"].forEach(function (sel) { $(sel).disabled = amend; });
    $("#amend-box").hidden = !amend;
    $("#amend-note-label").hidden = !amend;
    $("#delete-draft").hidden = amend;
    $("#finish").textContent = amend ? t("resubmit") : t("finish");
    if (amend) $("#amend-reason").textContent = t("todo_reason", { who: d.todo.by, reason: d.todo.reason });
    form.elements.resubmit_note.value = d.resubmit_note || "";
    $("#draft-title").textContent = d.borrower.name || t("new_application");
    form.elements.borrower_mode.value = d.borrower.mode;
    ["name", "id_number", "phone", "village", "address"].forEach(function (k) {
      form.elements[k].value = d.borrower[k] || "";
      form.elements[k].readOnly = d.borrower.mode === "existing";
    });
    $("#existing-borrower").hidden = d.borrower.mode !== "existing";
    var select = $("#product-select");
    select.innerHTML = "";
    boot.products.forEach(function (p) {
      var o = document.createElement("option");
      o.value = p.id;
      o.textContent = p.name;
      select.appendChild(o);
    });
    select.value = d.product_id;
    form.elements.amount.value = d.amount;
    form.elements.term_months.value = d.term_months;
    form.elements.purpose.value = d.purpose;
    form.elements.gps_note.value = d.gps_note || "";
    renderIdInfo();
    renderPhotos();
    renderGps();
    renderMissing();
  }

  function save() {
    clearTimeout(saveTimer);
    var d = current;
    saveTimer = setTimeout(function () { Store.putDraft(d); }, 250);
  }

  function saveNow() {
    clearTimeout(saveTimer);
    return current ? Store.putDraft(current) : Promise.resolve();
  }

  function renderIdInfo() {
    var raw = current.borrower.id_number;
    var info = $("#id-info");
    if (!raw) { info.textContent = ""; return; }
    var r = IdCard.parse(raw);
    info.className = "field-hint" + (r.ok ? "" : " field-error");
    info.textContent = r.ok ? t("id_ok", { birth: r.birth, sex: t(r.sex === "M" ? "male" : "female"), age: r.age }) : t(r.error, { n: r.n });
  }

  function renderMissing() {
    var list = $("#missing");
    list.innerHTML = "";
    var m = missing(current);
    m.forEach(function (text) {
      var item = document.createElement("li");
      item.textContent = text;
      list.appendChild(item);
    });
    if (!m.length) {
      var ok = document.createElement("li");
      ok.className = "ok";
      ok.textContent = t(amending(current) ? "amend_complete" : "all_complete");
      list.appendChild(ok);
    }
    $("#finish").disabled = m.length > 0;
  }

  function renderPhotos() {
    objectUrls.forEach(URL.revokeObjectURL);
    objectUrls = [];
    var box = $("#photo-items");
    box.innerHTML = "";
    var p = product(current.product_id);
    if (!p) return;
    p.items.forEach(function (item) {
      var node = document.importNode($("#tpl-photo-item").content, true);
      var root = node.querySelector(".photo-item");
      root.dataset.itemId = item.id;
      root.querySelector(".item-name").textContent = item.name;
      var mine = current.photos.filter(function (ph) { return ph.item_id === item.id; }).sort(function (a, b) { return a.sequence - b.sequence; });
      root.querySelector(".item-count").textContent = mine.length + " / " + item.required + (item.max > item.required ? "–" + item.max : "");
      var thumbs = root.querySelector(".thumbs");
      mine.forEach(function (ph) {
        var fig = document.createElement("figure");
        fig.className = "thumb";
        fig.dataset.photo = ph.uuid;
        var img = document.createElement("img");
        img.alt = item.name + " (" + ph.sequence + ")";
        Store.getBlob(ph.uuid).then(function (blob) {
          if (!blob) return;
          var url = URL.createObjectURL(blob);
          objectUrls.push(url);
          img.src = url;
        });
        var cap = document.createElement("figcaption");
        // A photo the server has verified is no longer on the phone: it stays, and stays as it is.
        cap.textContent = "(" + ph.sequence + ")" + (ph.confirmed ? " " + t("on_server") : "");
        fig.appendChild(img);
        fig.appendChild(cap);
        if (!ph.confirmed) fig.appendChild(button(t("delete"), function () { deletePhoto(ph); }, "link"));
        thumbs.appendChild(fig);
      });
      var input = root.querySelector("input[type=file]");
      input.dataset.itemId = item.id;
      if (mine.length >= item.max) root.querySelector(".camera").hidden = true;
      input.addEventListener("change", function () { addPhotos(item, Array.prototype.slice.call(input.files)); input.value = ""; });
      box.appendChild(node);
    });
  }

  function addPhotos(item, files) {
    banner(t("photo_processing"));
    var chain = Promise.resolve();
    files.forEach(function (file) {
      chain = chain.then(function () {
        var mine = current.photos.filter(function (ph) { return ph.item_id === item.id; });
        if (mine.length >= item.max) return;
        var next = mine.reduce(function (m, ph) { return Math.max(m, ph.sequence); }, 0) + 1;
        return Photos.prepare(file, boot.settings).then(function (r) {
          var uuid = crypto.randomUUID();
          return Store.putBlob(uuid, r.blob).then(function () {
            current.photos.push({ uuid: uuid, item_id: item.id, sequence: next, sha256: r.sha256, size: r.size, width: r.width, height: r.height, taken_at: new Date().toISOString() });
            return saveNow();
          });
        }, function () { banner(t("photo_failed"), "error"); throw new Error("photo"); });
      });
    });
    return chain.then(function () { banner(""); }, function () {}).then(function () {
      renderPhotos();
      renderMissing();
      askPersistence();
    });
  }

  function deletePhoto(ph) {
    current.photos = current.photos.filter(function (x) { return x.uuid !== ph.uuid; });
    // Numbers stay 1, 2, 3 … within the document, as the archive names them; photos already on
    // the server keep theirs, new ones follow them.
    var mine = current.photos.filter(function (x) { return x.item_id === ph.item_id; });
    var sent = mine.filter(function (x) { return x.confirmed; }).reduce(function (m, x) { return Math.max(m, x.sequence); }, 0);
    mine.filter(function (x) { return !x.confirmed; })
      .sort(function (a, b) { return a.sequence - b.sequence; })
      .forEach(function (x, i) { x.sequence = sent + i + 1; });
    return saveNow().then(function () { return Store.deleteBlob(ph.uuid); }).then(function () { renderPhotos(); renderMissing(); });
  }

  function renderGps() {
    var g = current.gps, info = $("#gps-info");
    var limit = boot.settings.gps_max_accuracy_m;
    $("#gps-note-label").hidden = !(g && g.accuracy_m > limit);
    if (!g) { info.textContent = ""; return; }
    info.textContent = t("gps_fix", { lat: g.lat.toFixed(6), lon: g.lon.toFixed(6), acc: g.accuracy_m }) + (g.accuracy_m > limit ? " — " + t("gps_poor", { acc: g.accuracy_m, limit: limit }) : "");
    info.className = "field-hint" + (g.accuracy_m > limit ? " field-error" : "");
  }

  function takeGps() {
    $("#gps-info").textContent = t("gps_waiting");
    return Bridge.getPosition().then(function (pos) {
      rememberPosition(pos);
      current.gps = pos;
      renderGps();
      renderMissing();
      return saveNow();
    }, function (err) {
      $("#gps-info").textContent = t("gps_error", { reason: err.message });
    });
  }

  function finish() {
    if (missing(current).length) return renderMissing();
    if (amending(current)) current.resubmit = true;
    current.status = "queued";
    current.finished_at = new Date().toISOString();
    current.error = null;
    return saveNow().then(function () {
      current = null;
      askPersistence();
      registerBackgroundSync();
      return goHome();
    }).then(function () { return Sync.run(); });
  }

  function goHome() {
    return saveNow().then(function () {
      current = null;
      show("view-home");
      renderStorage();
      return renderHome();
    });
  }

  function askPersistence() {
    if (navigator.storage && navigator.storage.persist) {
      navigator.storage.persisted().then(function (yes) {
        if (yes) return;
        return navigator.storage.persist().then(function (granted) {
          if (!granted) $("#storage-info").textContent += " " + t("storage_not_persistent");
        });
      });
    }
  }

  function registerBackgroundSync() {
    // A bonus where the browser has it; Android WebView does not, so the timer and "online" do the work.
    if (navigator.serviceWorker && "SyncManager" in window) {
      navigator.serviceWorker.ready.then(function (reg) { return reg.sync.register("ddt-sync"); }).catch(function () {});
    }
  }

  function wireForm() {
    var form = $("#view-draft");
    form.addEventListener("submit", function (e) { e.preventDefault(); });
    form.addEventListener("input", function (e) {
      if (!current) return;
      var el = e.target, name = el.name;
      if (["name", "id_number", "phone", "village", "address"].indexOf(name) >= 0) {
        current.borrower[name] = name === "id_number" ? IdCard.normalise(el.value) : el.value;
        if (name === "id_number") renderIdInfo();
        if (name === "name") $("#draft-title").textContent = el.value || t("new_application");
      } else if (["amount", "term_months", "purpose", "gps_note", "resubmit_note"].indexOf(name) >= 0) {
        current[name] = el.value.trim();
      }
      renderMissing();
      save();
    });
    form.addEventListener("change", function (e) {
      if (!current) return;
      var el = e.target;
      if (el.name === "borrower_mode") {
        current.borrower = { mode: el.value, uuid: crypto.randomUUID(), name: "", id_number: "", phone: "", village: "", address: "" };
        fillForm(current);
        save();
      } else if (el.name === "product_id") {
        var next = Number(el.value);
        // Photos of documents the new loan type does not ask for are dropped with it.
        var keep = product(next).items.map(function (i) { return i.id; });
        var dropped = current.photos.filter(function (p) { return keep.indexOf(p.item_id) < 0; });
        current.photos = current.photos.filter(function (p) { return keep.indexOf(p.item_id) >= 0; });
        current.product_id = next;
        // Save the draft without them first, then free their blobs: never a draft naming a missing photo.
        saveNow().then(function () { return Promise.all(dropped.map(function (p) { return Store.deleteBlob(p.uuid); })); });
        renderPhotos();
        renderMissing();
      }
    });
    $("#borrower-search").addEventListener("input", function (e) {
      var q = e.target.value.trim(), results = $("#borrower-results");
      results.innerHTML = "";
      if (!q) return;
      (boot.borrowers || []).filter(function (b) {
        return b.name.indexOf(q) >= 0 || b.id_number.indexOf(q.toUpperCase()) >= 0 || (b.village || "").indexOf(q) >= 0;
      }).slice(0, 20).forEach(function (b) {
        var item = document.createElement("li");
        item.className = "row";
        item.appendChild(button(b.name + " · " + b.id_number.slice(0, 6) + "…" + b.id_number.slice(-4) + " · " + (b.village || ""), function () {
          current.borrower = { mode: "existing", uuid: b.uuid, name: b.name, id_number: b.id_number, phone: b.phone || "", village: b.village || "", address: b.address || "" };
          results.innerHTML = "";
          fillForm(current);
          save();
        }, "link"));
        results.appendChild(item);
      });
    });
    $("#take-gps").addEventListener("click", takeGps);
    $("#finish").addEventListener("click", finish);
    $("#back-home").addEventListener("click", goHome);
    $("#delete-draft").addEventListener("click", function () {
      if (!confirm(t("confirm_delete_draft"))) return;
      var d = current;
      current = null;
      clearTimeout(saveTimer);
      Store.deleteDraft(d).then(goHome);
    });
  }

  // A retired phone sends what it holds but starts nothing new.
  function renderDeviceStatus(status) {
    var retired = status === "retired";
    $("#new-application").disabled = retired;
    $("#retired-note").hidden = !retired;
  }

  function renderNet() {
    var el = $("#net-status");
    el.textContent = navigator.onLine ? t("online") : t("offline");
    el.className = "net " + (navigator.onLine ? "net-on" : "net-off");
  }

  // --- repayment calculator (offline: the same engine as the server, static/js/schedule.js) ---

  function calcProduct() { return product($("#calc-product").value); }

  function openCalculator() {
    var select = $("#calc-product"), form = $("#calc-form");
    select.innerHTML = "";
    boot.products.forEach(function (p) {
      var o = document.createElement("option");
      o.value = p.id;
      o.textContent = p.name;
      select.appendChild(o);
    });
    fillCalcDefaults(form);
    $("#calc-result").hidden = true;
    $("#calc-error").hidden = true;
    show("view-calc");
  }

  function fillCalcDefaults(form) {
    var p = calcProduct();
    form.elements.amount.value = p.min_amount;
    form.elements.term_months.value = p.min_term;
    form.elements.rate_percent.value = (Number(p.annual_rate) * 100).toFixed(2);
    form.elements.start.value = new Date().toISOString().slice(0, 10);
    $("#calc-due-label").hidden = p.frequency !== "custom";
  }

  function percentToFraction(text) {
    // "9.6" -> "0.096" by moving the decimal point: no float in the money path.
    var m = /^\s*(\d+)(?:\.(\d*))?\s*$/.exec(text || "");
    if (!m) return null;
    var digits = (m[1] + (m[2] || "")).replace(/^0+(?=\d)/, "");
    var places = (m[2] || "").length + 2;
    while (digits.length <= places) digits = "0" + digits;
    return digits.slice(0, digits.length - places) + "." + digits.slice(digits.length - places);
  }

  function calculate() {
    var form = $("#calc-form"), p = calcProduct(), error = $("#calc-error");
    var rate = percentToFraction(form.elements.rate_percent.value);
    var term = Number(form.elements.term_months.value);
    var amount = Number(String(form.elements.amount.value).replace(/,/g, ""));
    var problems = [];
    if (rate === null || Number(rate) < Number(p.min_rate) || Number(rate) > Number(p.max_rate))
      problems.push(t("calc_rate", { min: (Number(p.min_rate) * 100).toFixed(2), max: (Number(p.max_rate) * 100).toFixed(2) }));
    if (!Number.isInteger(term) || term < p.min_term || term > p.max_term) problems.push(t("missing_term", { min: p.min_term, max: p.max_term }));
    if (!(amount >= Number(p.min_amount) && amount <= Number(p.max_amount))) problems.push(t("missing_amount", { min: p.min_amount, max: p.max_amount }));
    var result = null;
    if (!problems.length) {
      try {
        result = Schedule.build({
          principal: String(form.elements.amount.value).replace(/,/g, ""), annual_rate: rate, term_months: term,
          method: p.method, start: form.elements.start.value, frequency: p.frequency, first_due: null,
          due_dates: p.frequency === "custom" ? form.elements.due_dates.value.split(",").map(function (d) { return d.trim(); }).filter(Boolean) : [],
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
    var body = $("#calc-lines");
    body.innerHTML = "";
    result.lines.forEach(function (line) {
      var tr = document.createElement("tr");
      [line.seq, line.due_date, yuan(line.principal), yuan(line.interest), yuan(line.total)].forEach(function (v, i) {
        var td = document.createElement("td");
        td.textContent = v;
        if (i >= 2) td.className = "money";
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
  }

  // --- the day's work plan and visit reports ---------------------------------------------------
  // The plan comes with the first sync of the day (meta "plan"); a visit report is its own record
  // (Store reports) until the server confirms it. Works offline from start to finish.

  var currentReport = null;   // the visit report being edited
  var reportSaveTimer = null;
  var visitUrls = [];
  var visitRadius = null;     // the plan's visit_radius_m: nearer than this counts as on site
  var MAX_VISIT_PHOTOS = 3;
  var EARTH_RADIUS_M = 6371008.8;  // as app/domain/geo.py

  function distanceM(lat1, lon1, lat2, lon2) {
    var rad = Math.PI / 180;
    var p1 = lat1 * rad, p2 = lat2 * rad, dp = (lat2 - lat1) * rad, dl = (lon2 - lon1) * rad;
    var a = Math.pow(Math.sin(dp / 2), 2) + Math.cos(p1) * Math.cos(p2) * Math.pow(Math.sin(dl / 2), 2);
    return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(a)));
  }

  function formatDistance(m) {
    return m < 1000 ? t("dist_m", { m: Math.round(m) }) : t("dist_km", { km: (m / 1000).toFixed(1) });
  }

  function homeDistance(task, pos) {
    var home = task && task.borrower && task.borrower.home;
    if (!pos || !home || home.lat === null || home.lat === undefined || home.lon === null || home.lon === undefined) return null;
    return distanceM(pos.lat, pos.lon, home.lat, home.lon);
  }

  function yuan(s) {
    return "¥" + Number(s).toLocaleString("zh-CN", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }

  // "50" -> "50.00", "1,200.5" -> "1200.50"; null when it is not an amount. Text only: no float.
  function money(text) {
    var s = String(text || "").replace(/[,\s]/g, "");
    var m = /^(\d+)(?:\.(\d{0,2}))?$/.exec(s);
    if (!m) return null;
    return m[1].replace(/^0+(?=\d)/, "") + "." + ((m[2] || "") + "00").slice(0, 2);
  }

  function latestReports(reports) {
    var byTask = {};
    reports.forEach(function (r) {
      var prev = byTask[r.task_uuid];
      if (!prev || String(r.created_at) > String(prev.created_at)) byTask[r.task_uuid] = r;
    });
    return byTask;
  }

  function reportResult(task, report) {
    if (report && report.status === "sent") return report.result;
    return task.status === "done" ? task.result || null : null;
  }

  function resultText(result) {
    var dist = result.distance_m === null || result.distance_m === undefined ? null : formatDistance(result.distance_m);
    var text;
    if (result.on_site === true) text = dist ? t("visit_verified", { distance: dist }) : t("visit_verified_nodist");
    else if (result.on_site === false) text = dist ? t("visit_flagged", { distance: dist }) : t("visit_flagged_nodist");
    else text = t("visit_unchecked");
    var flags = (result.flags || []).map(function (f) { return T["flag_" + f] || f; });
    return flags.length ? text + " · " + t("flags", { flags: flags.join(", ") }) : text;
  }

  function taskRow(task, report, pos, today) {
    var item = document.createElement("li");
    item.className = "row task";
    item.dataset.task = task.uuid;
    var result = reportResult(task, report);
    var state = result ? "done" : report ? report.status : "open";
    item.dataset.state = state;
    var main = document.createElement("span");
    main.className = "row-main";
    main.textContent = [task.kind_label || task.kind, task.borrower.name, task.borrower.village].filter(Boolean).join(" · ");
    item.appendChild(main);

    var sub = document.createElement("span");
    sub.className = "row-sub";
    var overdue = task.due_date < today;
    var due = document.createElement("span");
    due.className = "task-due" + (overdue && !result ? " overdue" : "");
    due.textContent = overdue ? t("overdue_since", { date: task.due_date }) : t("due_on", { date: task.due_date });
    sub.appendChild(due);
    var loan = task.loan || {};
    var bits = [];
    if (loan.next_due_amount) bits.push(t("amount_due", { amount: yuan(loan.next_due_amount) }));
    if (loan.outstanding) bits.push(t("outstanding", { amount: yuan(loan.outstanding) }));
    if (loan.days_past_due > 0) bits.push(t("dpd", { days: loan.days_past_due }));
    var meters = homeDistance(task, pos);
    if (meters !== null) {
      item.dataset.distance = Math.round(meters);
      bits.push(t("distance_away", { distance: formatDistance(meters) }));
    }
    if (bits.length) sub.appendChild(document.createTextNode(" · " + bits.join(" · ")));
    item.appendChild(sub);

    var status = document.createElement("span");
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
      item.appendChild(button(t("visit"), function () { openVisit(task.uuid); }, report && report.error ? "primary" : ""));
    } else if (report && report.status === "closed") {
      item.appendChild(button(t("dismiss"), function () {
        if (!confirm(t("confirm_discard_report"))) return;
        Store.deleteReport(report).then(renderHome);
      }, "link"));
    }
    return item;
  }

  // Resolves to the number of reports not yet confirmed by the server (for the badge).
  function renderNotifications() {
    return Store.getMeta("notifications").then(function (data) {
      var list = $("#list-notes"), items = (data && data.items) || [];
      list.innerHTML = "";
      items.slice(0, 10).forEach(function (n) {
        var li = document.createElement("li");
        li.className = "row" + (n.unread ? " unread" : "");
        var main = document.createElement("span");
        main.className = "row-main";
        main.textContent = n.label + " · " + n.message;
        var sub = document.createElement("span");
        sub.className = "row-sub";
        sub.textContent = new Date(n.at).toLocaleString();
        li.appendChild(main);
        li.appendChild(sub);
        list.appendChild(li);
      });
      $("#notes-card").hidden = !items.length;
      var badge = $("#notes-badge");
      badge.textContent = (data && data.unread) || 0;
      badge.dataset.count = (data && data.unread) || 0;
      $("#notes-read").hidden = !(data && data.unread);
    });
  }

  function renderPlan() {
    return Promise.all([Store.getMeta("plan"), Store.allReports(), Store.getMeta("last_position"), Store.getMeta("plan_error")]).then(function (r) {
      var plan = r[0], reports = r[1], pos = r[2], planError = r[3];
      var today = Sync.localDay();
      var byTask = latestReports(reports);
      var tasks = ((plan && plan.tasks) || []).slice();
      var listed = {};
      tasks.forEach(function (task) { listed[task.uuid] = true; });
      // Reports for tasks no longer in the plan stay visible until they are settled (sent ones: that day).
      Object.keys(byTask).forEach(function (uuid) {
        var rep = byTask[uuid];
        if (listed[uuid] || !rep.task) return;
        if (rep.status === "sent" && Sync.localDay(new Date(rep.sent_at)) !== today) return;
        tasks.push(rep.task);
      });
      tasks.sort(function (a, b) {
        var da = reportResult(a, byTask[a.uuid]) ? 1 : 0, db = reportResult(b, byTask[b.uuid]) ? 1 : 0;
        return da - db || String(a.due_date).localeCompare(String(b.due_date)) || String(a.borrower.name).localeCompare(String(b.borrower.name));
      });
      var list = $("#list-plan");
      list.innerHTML = "";
      tasks.forEach(function (task) { list.appendChild(taskRow(task, byTask[task.uuid], pos, today)); });
      if (!tasks.length) {
        var empty = document.createElement("li");
        empty.className = "muted";
        empty.textContent = plan ? t("plan_none") : t("plan_not_loaded");
        list.appendChild(empty);
      }
      var info = $("#plan-info");
      info.className = "muted";
      info.textContent = plan ? t("plan_of", { date: plan.date, time: new Date(plan.fetched_at).toLocaleString() }) : "";
      if (plan && plan.date < today) {
        info.className = "warn";
        info.textContent = t("plan_old", { date: plan.date });
      }
      var err = $("#plan-error");
      var showError = planError && (!plan || planError.at > plan.fetched_at);
      err.hidden = !showError;
      err.textContent = showError ? t("plan_error", { message: planError.message || t("no_connection") }) : "";
      $("#position-info").textContent = pos ? t("position_known", { acc: pos.accuracy_m, time: new Date(pos.at).toLocaleTimeString() }) : t("position_unknown");
      return reports.filter(function (rep) { return rep.status === "queued" || rep.status === "error"; }).length;
    });
  }

  function locateMe() {
    $("#position-info").textContent = t("gps_waiting");
    return Bridge.getPosition().then(function (pos) {
      return Store.setMeta("last_position", pos).then(renderPlan);
    }, function (err) {
      $("#position-info").textContent = t("gps_error", { reason: err.message });
    });
  }

  function rememberPosition(pos) { return Store.setMeta("last_position", pos).catch(function () {}); }

  function taskNeeds(task, what) {
    var evidence = task.evidence || [];
    if (evidence.indexOf(what) >= 0) return true;
    if (what === "promise") return task.kind === "collection" || task.kind === "escalation";
    if (what === "loan_use") return task.kind === "revisit";
    return false;
  }

  function newReport(task) {
    return {
      uuid: crypto.randomUUID(), task_uuid: task.uuid, task: task, status: "draft", created_at: new Date().toISOString(),
      outcome: { met_borrower: false, paid_amount: "", promise_date: "", promise_amount: "", loan_use_verified: taskNeeds(task, "loan_use") ? false : null, notes: "" },
      gps: null, photos: [],
    };
  }

  function pristine(r) {
    var o = r.outcome;
    return r.status === "draft" && !r.error && !r.gps && !r.photos.length && !o.met_borrower && !o.paid_amount &&
      !o.promise_date && !o.promise_amount && !o.loan_use_verified && !o.notes;
  }

  function openVisit(taskUuid) {
    return Promise.all([Store.getMeta("plan"), Store.allReports()]).then(function (r) {
      var plan = r[0], reports = r[1];
      var report = latestReports(reports)[taskUuid];
      var task = ((plan && plan.tasks) || []).filter(function (x) { return x.uuid === taskUuid; })[0] || (report && report.task);
      if (!task) return;
      if (report && (report.status === "draft" || report.status === "error")) {
        report.status = "draft";   // a refused report: correct it, then finish again
        report.task = task;
      } else if (!report) {
        report = newReport(task);
      } else {
        return;  // waiting to send, sent or closed: nothing to edit
      }
      currentReport = report;
      visitRadius = plan && plan.settings ? plan.settings.visit_radius_m || null : null;
      fillVisit(report);
      show("view-visit");
      if (report.error) banner(t("server_said", { message: errorText(report.error) }), "error");
      else banner("");
    });
  }

  function fillVisit(r) {
    var form = $("#view-visit"), task = r.task, loan = task.loan || {}, b = task.borrower;
    $("#visit-title").textContent = (task.kind_label || task.kind) + " · " + b.name;
    $("#visit-borrower").textContent = [b.name, b.village, b.address].filter(Boolean).join(" · ");
    var phone = $("#visit-phone");
    phone.textContent = b.phone || "—";
    phone.href = b.phone ? "tel:" + b.phone : "#";
    $("#visit-due").textContent = task.due_date;
    $("#visit-loan").textContent = [loan.outstanding ? t("outstanding", { amount: yuan(loan.outstanding) }) : "",
      loan.next_due_amount ? t("amount_due", { amount: yuan(loan.next_due_amount) }) + (loan.next_due_date ? " (" + loan.next_due_date + ")" : "") : "",
      loan.days_past_due > 0 ? t("dpd", { days: loan.days_past_due }) : ""].filter(Boolean).join(" · ") || "—";
    var o = r.outcome;
    form.elements.met_borrower.checked = !!o.met_borrower;
    form.elements.paid_amount.value = o.paid_amount || "";
    form.elements.promise_date.value = o.promise_date || "";
    form.elements.promise_amount.value = o.promise_amount || "";
    form.elements.loan_use_verified.checked = !!o.loan_use_verified;
    form.elements.notes.value = o.notes || "";
    $("#visit-promise").hidden = !taskNeeds(task, "promise");
    $("#visit-loan-use").hidden = !taskNeeds(task, "loan_use");
    // What the server said about each field, beside the field.
    $$("#view-visit [aria-invalid]").forEach(function (el) { el.removeAttribute("aria-invalid"); });
    $$("#view-visit .field-error.server").forEach(function (el) { el.remove(); });
    var fields = (r.error && r.error.fields) || {};
    Object.keys(fields).forEach(function (key) {
      var name = key.split(".").pop();
      var el = form.elements[name];
      if (!el || !el.closest || !el.closest("label")) return;
      el.setAttribute("aria-invalid", "true");
      var hint = document.createElement("p");
      hint.className = "field-error server";
      hint.textContent = fields[key];
      el.closest("label").after(hint);
    });
    renderVisitPhotos();
    renderVisitGps();
    renderVisitMissing();
  }

  function saveReport() {
    clearTimeout(reportSaveTimer);
    var r = currentReport;
    reportSaveTimer = setTimeout(function () { Store.putReport(r); }, 250);
  }

  function saveReportNow() {
    clearTimeout(reportSaveTimer);
    return currentReport ? Store.putReport(currentReport) : Promise.resolve();
  }

  function visitMissing(r) {
    var out = [], o = r.outcome, task = r.task;
    if (o.paid_amount && money(o.paid_amount) === null) out.push(t("missing_paid"));
    if (taskNeeds(task, "promise")) {
      if (!!o.promise_date !== !!o.promise_amount) out.push(t("missing_promise"));
      if (o.promise_date && o.promise_date < Sync.localDay()) out.push(t("missing_promise_past"));
      if (o.promise_amount && !(money(o.promise_amount) !== null && Number(money(o.promise_amount)) > 0)) out.push(t("missing_promise_amount"));
    }
    if ((o.notes || "").length > 500) out.push(t("missing_notes"));
    if ((task.evidence || []).indexOf("photo") >= 0 && !r.photos.length) out.push(t("missing_visit_photo"));
    if (!r.gps) out.push(t("missing_visit_gps"));
    return out;
  }

  function renderVisitMissing() {
    var list = $("#visit-missing");
    list.innerHTML = "";
    var m = visitMissing(currentReport);
    m.forEach(function (text) {
      var item = document.createElement("li");
      item.textContent = text;
      list.appendChild(item);
    });
    if (!m.length) {
      var ok = document.createElement("li");
      ok.className = "ok";
      ok.textContent = t("visit_complete");
      list.appendChild(ok);
    }
    $("#visit-finish").disabled = m.length > 0;
  }

  function renderVisitPhotos() {
    visitUrls.forEach(URL.revokeObjectURL);
    visitUrls = [];
    var box = $("#visit-thumbs");
    box.innerHTML = "";
    currentReport.photos.forEach(function (ph, i) {
      var fig = document.createElement("figure");
      fig.className = "thumb";
      fig.dataset.photo = ph.uuid;
      var img = document.createElement("img");
      img.alt = "(" + (i + 1) + ")";
      Store.getBlob(ph.uuid).then(function (blob) {
        if (!blob) return;
        var url = URL.createObjectURL(blob);
        visitUrls.push(url);
        img.src = url;
      });
      var cap = document.createElement("figcaption");
      cap.textContent = "(" + (i + 1) + ")";
      fig.appendChild(img);
      fig.appendChild(cap);
      fig.appendChild(button(t("delete"), function () { deleteVisitPhoto(ph); }, "link"));
      box.appendChild(fig);
    });
    $("#visit-camera").hidden = currentReport.photos.length >= MAX_VISIT_PHOTOS;
    $("#visit-photo-count").textContent = currentReport.photos.length + " / " + MAX_VISIT_PHOTOS;
  }

  function addVisitPhotos(files) {
    var r = currentReport;
    banner(t("photo_processing"));
    var chain = Promise.resolve();
    files.forEach(function (file) {
      chain = chain.then(function () {
        if (r.photos.length >= MAX_VISIT_PHOTOS) return;
        return Photos.prepare(file, boot.settings).then(function (p) {
          var uuid = crypto.randomUUID();
          return Store.putBlob(uuid, p.blob).then(function () {
            r.photos.push({ uuid: uuid, sha256: p.sha256, size: p.size, width: p.width, height: p.height, taken_at: new Date().toISOString() });
            return Store.putReport(r);
          });
        }, function () { banner(t("photo_failed"), "error"); throw new Error("photo"); });
      });
    });
    return chain.then(function () { banner(""); }, function () {}).then(function () {
      if (currentReport !== r) return;
      renderVisitPhotos();
      renderVisitMissing();
      askPersistence();
    });
  }

  function deleteVisitPhoto(ph) {
    currentReport.photos = currentReport.photos.filter(function (x) { return x.uuid !== ph.uuid; });
    return saveReportNow().then(function () { return Store.deleteBlob(ph.uuid); }).then(function () { renderVisitPhotos(); renderVisitMissing(); });
  }

  function renderVisitGps() {
    var g = currentReport.gps, info = $("#visit-gps-info");
    var limit = (boot && boot.settings && boot.settings.gps_max_accuracy_m) || 50;
    info.className = "field-hint";
    delete info.dataset.distance;
    if (!g) { info.textContent = ""; return; }
    var parts = [t("gps_fix", { lat: g.lat.toFixed(6), lon: g.lon.toFixed(6), acc: g.accuracy_m })];
    if (g.accuracy_m > limit) { parts.push(t("gps_poor_visit", { acc: g.accuracy_m, limit: limit })); info.className += " field-error"; }
    if (g.is_mock) { parts.push(t("gps_mock")); info.className += " field-error"; }
    var meters = homeDistance(currentReport.task, g);
    if (meters === null) {
      parts.push(t("visit_home_unknown"));
    } else {
      info.dataset.distance = Math.round(meters);
      parts.push(t("visit_gps_distance", { distance: formatDistance(meters) }));
      var radius = visitRadius;
      if (radius) parts.push(meters <= radius ? t("visit_gps_near", { radius: radius }) : t("visit_gps_far", { radius: radius }));
    }
    info.textContent = parts.join(" · ");
  }

  function takeVisitGps() {
    var r = currentReport;
    $("#visit-gps-info").textContent = t("gps_waiting");
    return Bridge.getPosition().then(function (pos) {
      r.gps = pos;
      rememberPosition(pos);
      if (currentReport !== r) return Store.putReport(r);
      renderVisitGps();
      renderVisitMissing();
      return saveReportNow();
    }, function (err) {
      $("#visit-gps-info").textContent = t("gps_error", { reason: err.message });
    });
  }

  function finishVisit() {
    var r = currentReport;
    if (visitMissing(r).length) return renderVisitMissing();
    var o = r.outcome;
    o.paid_amount = money(o.paid_amount) || "0.00";
    var promise = taskNeeds(r.task, "promise") && o.promise_date;
    o.promise_date = promise ? o.promise_date : "";
    o.promise_amount = promise ? money(o.promise_amount) : "";
    if (!taskNeeds(r.task, "loan_use")) o.loan_use_verified = null;
    r.status = "queued";
    // The time of the visit: a report corrected after a refusal keeps it.
    r.finished_at = r.finished_at || new Date().toISOString();
    r.error = null;
    r.needs_fix = false;
    r.attempts = 0;
    r.next_attempt_at = null;
    return saveReportNow().then(function () {
      currentReport = null;
      askPersistence();
      registerBackgroundSync();
      show("view-home");
      banner("");
      return renderHome();
    }).then(function () { return Sync.run(); });
  }

  function visitBack() {
    var r = currentReport;
    clearTimeout(reportSaveTimer);
    currentReport = null;
    var done = pristine(r) ? Store.getReport(r.uuid).then(function (stored) { if (stored) return Store.deleteReport(r); }) : Store.putReport(r);
    return done.then(function () {
      show("view-home");
      banner("");
      return renderHome();
    });
  }

  function wireVisit() {
    var form = $("#view-visit");
    form.addEventListener("submit", function (e) { e.preventDefault(); });
    form.addEventListener("input", function (e) {
      if (!currentReport) return;
      var el = e.target, o = currentReport.outcome;
      if (el.type === "checkbox" && (el.name === "met_borrower" || el.name === "loan_use_verified")) o[el.name] = el.checked;
      else if (["paid_amount", "promise_date", "promise_amount"].indexOf(el.name) >= 0) o[el.name] = el.value.trim();
      else if (el.name === "notes") o.notes = el.value;
      else return;
      renderVisitMissing();
      saveReport();
    });
    $("#visit-photo-input").addEventListener("change", function (e) {
      var input = e.target;
      addVisitPhotos(Array.prototype.slice.call(input.files));
      input.value = "";
    });
    $("#visit-gps").addEventListener("click", takeVisitGps);
    $("#visit-finish").addEventListener("click", finishVisit);
    $("#visit-back").addEventListener("click", visitBack);
    $("#visit-discard").addEventListener("click", function () {
      if (!confirm(t("confirm_discard_report"))) return;
      var r = currentReport;
      currentReport = null;
      clearTimeout(reportSaveTimer);
      Store.deleteReport(r).then(function () { show("view-home"); banner(""); return renderHome(); });
    });
    $("#locate-me").addEventListener("click", locateMe);
  }

  // --- start ------------------------------------------------------------------------------

  function refreshFromServer() {
    if (!navigator.onLine) return Promise.resolve();
    return Sync.versionGate()
      .then(function () { return Sync.api("GET", "/api/v1/device"); })
      .then(function (dev) {
        $("#who").textContent = t("logged_in_as", { name: dev.user.name, office: dev.user.office });
        renderDeviceStatus(dev.status);
        return Promise.all([Store.setMeta("user", dev.user), Store.setMeta("device_status", dev.status)]);
      })
      .then(function () { return Sync.api("GET", "/api/v1/bootstrap"); })
      .then(function (data) { boot = data; return Store.setMeta("bootstrap", data); })
      .catch(function (err) {
        if (err && err.status && err.status !== 0 && err.body && err.body.message) banner(err.body.message, "error");
      });
  }

  function start() {
    renderNet();
    Sync.onBanner(function (key) { banner(t(key), "info"); });
    if (navigator.serviceWorker) {
      navigator.serviceWorker.register("/sw.js", { scope: "/" }).then(function (reg) {
        // An update that arrived last time takes over now, at start, before any work begins.
        if (reg.waiting && navigator.serviceWorker.controller) Sync.activateWaiting(reg);
      }).catch(function () {});
      navigator.serviceWorker.addEventListener("message", function (e) { if (e.data && e.data.type === "sync") Sync.run(); });
    }
    Store.available().then(function (ok) {
      if (!ok) { show("view-unsupported"); return; }
      return Store.getMeta("device").then(function (device) {
        if (!device) { show("view-unenrolled"); return; }
        return Promise.all([Store.getMeta("bootstrap"), Store.getMeta("user"), Store.getMeta("wifi_only"), Store.getMeta("device_status")]).then(function (r) {
          boot = r[0];
          renderDeviceStatus(r[3]);
          if (r[1]) $("#who").textContent = t("logged_in_as", { name: r[1].name, office: r[1].office });
          $("#wifi-only").checked = !!r[2];
          var ready = boot ? Promise.resolve() : refreshFromServer();
          return ready.then(function () {
            show("view-home");
            renderStorage();
            renderHome();
            if (boot) refreshFromServer().then(function () { return Sync.run({ fresh: true }); });
          });
        });
      });
    });
    wireForm();
    wireVisit();
    $("#new-application").addEventListener("click", function () { if (boot) newDraft(); });
    $("#open-calculator").addEventListener("click", function () { if (boot) openCalculator(); });
    $("#notes-read").addEventListener("click", function () { Sync.markNotificationsRead().catch(function () {}); });
    $("#calc-product").addEventListener("change", function () { fillCalcDefaults($("#calc-form")); });
    $("#calc-form").addEventListener("submit", function (e) { e.preventDefault(); calculate(); });
    $("#calc-back").addEventListener("click", function () { show("view-home"); });
    $("#send-now").addEventListener("click", function () { Sync.run({ sendNow: true }); });
    $("#wifi-only").addEventListener("change", function (e) { Store.setMeta("wifi_only", e.target.checked); });
    Sync.onChange(function () { if (!current && !currentReport) renderHome(); });
    window.addEventListener("online", function () { renderNet(); Sync.run({ fresh: true }); });
    window.addEventListener("offline", renderNet);
    setInterval(function () { Sync.run(); }, 60000);
    // The GPS trail: a tick a minute; Sync.sampleTrail keeps to TRAIL_INTERVAL_MIN between positions.
    Sync.sampleTrail();
    setInterval(function () { Sync.sampleTrail(); }, 60000);
    if (new URLSearchParams(location.search).get("enrolled")) banner(t("enrolled_ok"), "success");
  }

  start();
})();
