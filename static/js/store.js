// The phone's store of record: drafts, queued applications, visit reports and their photo blobs
// live in IndexedDB until the server has confirmed them. Nothing here is deleted before that.
// Version 2 added the "reports" store, version 3 the "collections" store (repayments taken in the
// field), version 4 the "surveys" store (households surveyed in a village campaign); an upgrade only creates what is missing, so what the earlier versions hold comes through untouched.
(function (global) {
  "use strict";
  var DB_NAME = "ddt";
  var DB_VERSION = 4;
  var dbPromise = null;
  var wiped = false;

  function open() {
    // After a wipe nothing may recreate the database from this page.
    if (wiped) return Promise.reject(new Error("wiped"));
    if (dbPromise) return dbPromise;
    dbPromise = new Promise(function (resolve, reject) {
      var req;
      try {
        req = indexedDB.open(DB_NAME, DB_VERSION);
      } catch (e) {
        reject(e);
        return;
      }
      req.onupgradeneeded = function () {
        var db = req.result;
        if (!db.objectStoreNames.contains("drafts")) db.createObjectStore("drafts", { keyPath: "uuid" });
        if (!db.objectStoreNames.contains("blobs")) db.createObjectStore("blobs");
        if (!db.objectStoreNames.contains("meta")) db.createObjectStore("meta");
        // Visit reports of the work plan (one record per report UUID), with their photos in "blobs".
        if (!db.objectStoreNames.contains("reports")) db.createObjectStore("reports", { keyPath: "uuid" });
        // Repayments taken in the village (one record per collection UUID), the signature photo in "blobs".
        if (!db.objectStoreNames.contains("collections")) db.createObjectStore("collections", { keyPath: "uuid" });
        // Households surveyed in a village campaign (one record per survey UUID; no photos).
        if (!db.objectStoreNames.contains("surveys")) db.createObjectStore("surveys", { keyPath: "uuid" });
      };
      req.onsuccess = function () {
        var db = req.result;
        // Another tab (or a wipe) wants a new version or deletion: let it.
        db.onversionchange = function () { db.close(); dbPromise = null; };
        resolve(db);
      };
      req.onerror = function () { reject(req.error); };
      req.onblocked = function () { reject(new Error("IndexedDB blocked")); };
    });
    dbPromise.catch(function () { dbPromise = null; });
    return dbPromise;
  }

  // ``durable``: resolve only once the data is on disk (strict durability), for what another party
  // deletes on our word (the Android app's trail points); the browser's default may resolve earlier.
  function tx(storeNames, mode, work, durable) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = durable ? db.transaction(storeNames, mode, { durability: "strict" }) : db.transaction(storeNames, mode);
        var result;
        t.oncomplete = function () { resolve(result); };
        t.onerror = function () { reject(t.error); };
        t.onabort = function () { reject(t.error || new Error("transaction aborted")); };
        var stores = storeNames.map(function (n) { return t.objectStore(n); });
        work.apply(null, stores.concat([function (r) { result = r; }]));
      });
    });
  }

  function request(req, done) {
    req.onsuccess = function () { done(req.result); };
  }

  var Store = {
    available: function () {
      return open().then(function () { return true; }, function () { return false; });
    },
    allDrafts: function () {
      return tx(["drafts"], "readonly", function (drafts, done) { request(drafts.getAll(), done); });
    },
    getDraft: function (uuid) {
      return tx(["drafts"], "readonly", function (drafts, done) { request(drafts.get(uuid), done); });
    },
    putDraft: function (draft) {
      draft.updated_at = new Date().toISOString();
      return tx(["drafts"], "readwrite", function (drafts) { drafts.put(draft); });
    },
    // Deletes the draft and every photo blob it holds, in one transaction.
    deleteDraft: function (draft) {
      return tx(["drafts", "blobs"], "readwrite", function (drafts, blobs) {
        drafts.delete(draft.uuid);
        (draft.photos || []).forEach(function (p) { blobs.delete(p.uuid); });
      });
    },
    allReports: function () {
      return tx(["reports"], "readonly", function (reports, done) { request(reports.getAll(), done); });
    },
    getReport: function (uuid) {
      return tx(["reports"], "readonly", function (reports, done) { request(reports.get(uuid), done); });
    },
    putReport: function (report) {
      report.updated_at = new Date().toISOString();
      return tx(["reports"], "readwrite", function (reports) { reports.put(report); });
    },
    // Deletes the report and every photo blob it still holds, in one transaction.
    deleteReport: function (report) {
      return tx(["reports", "blobs"], "readwrite", function (reports, blobs) {
        reports.delete(report.uuid);
        (report.photos || []).forEach(function (p) { blobs.delete(p.uuid); });
      });
    },
    allCollections: function () {
      return tx(["collections"], "readonly", function (store, done) { request(store.getAll(), done); });
    },
    getCollection: function (uuid) {
      return tx(["collections"], "readonly", function (store, done) { request(store.get(uuid), done); });
    },
    putCollection: function (c) {
      c.updated_at = new Date().toISOString();
      return tx(["collections"], "readwrite", function (store) { store.put(c); });
    },
    // Deletes the collection and its photo blob, in one transaction.
    deleteCollection: function (c) {
      return tx(["collections", "blobs"], "readwrite", function (store, blobs) {
        store.delete(c.uuid);
        (c.photos || []).forEach(function (p) { blobs.delete(p.uuid); });
      });
    },
    allSurveys: function () {
      return tx(["surveys"], "readonly", function (store, done) { request(store.getAll(), done); });
    },
    getSurvey: function (uuid) {
      return tx(["surveys"], "readonly", function (store, done) { request(store.get(uuid), done); });
    },
    putSurvey: function (s) {
      return tx(["surveys"], "readwrite", function (store) { store.put(s); }, true);
    },
    deleteSurvey: function (s) {
      return tx(["surveys"], "readwrite", function (store) { store.delete(s.uuid); });
    },
    putBlob: function (key, blob) {
      return tx(["blobs"], "readwrite", function (blobs) { blobs.put(blob, key); });
    },
    getBlob: function (key) {
      return tx(["blobs"], "readonly", function (blobs, done) { request(blobs.get(key), done); });
    },
    deleteBlob: function (key) {
      return tx(["blobs"], "readwrite", function (blobs) { blobs.delete(key); });
    },
    getMeta: function (key) {
      return tx(["meta"], "readonly", function (meta, done) { request(meta.get(key), done); });
    },
    setMeta: function (key, value, options) {
      return tx(["meta"], "readwrite", function (meta) { meta.put(value, key); }, !!(options && options.durable));
    },
    deleteMeta: function (key) {
      return tx(["meta"], "readwrite", function (meta) { meta.delete(key); });
    },
    // Remove everything (revoked phone). Resolves when the database is gone.
    wipe: function () {
      wiped = true;
      var closing = dbPromise ? dbPromise.then(function (db) { db.close(); }, function () {}) : Promise.resolve();
      dbPromise = null;
      return closing.then(function () {
        return new Promise(function (resolve) {
          // "blocked" is followed by "success" once other tabs have closed their connections.
          var req = indexedDB.deleteDatabase(DB_NAME);
          req.onsuccess = req.onerror = function () { resolve(); };
        });
      });
    },
  };
  global.Store = Store;
})(self);
