// PRC resident ID number check on the phone, mirroring app/domain/idcard.py.
(function (global) {
  "use strict";
  var WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  var CHECK = "10X98765432";
  var PROVINCES = ["11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82"];

  function normalise(raw) {
    return String(raw || "").replace(/\s+/g, "")
      .replace(/[０-９]/g, function (c) { return String.fromCharCode(c.charCodeAt(0) - 0xfee0); })
      .replace(/[xｘＸ]/g, "X");
  }

  function checkDigit(first17) {
    var sum = 0;
    for (var i = 0; i < 17; i++) sum += Number(first17[i]) * WEIGHTS[i];
    return CHECK[sum % 11];
  }

  // -> {ok: true, number, birth: "YYYY-MM-DD", sex: "M"|"F", age} or {ok: false, error: key, n}
  function parse(raw, today) {
    var n = normalise(raw);
    today = today || new Date();
    if (n.length !== 18) return { ok: false, error: "id_bad_length", n: n.length };
    if (!/^\d{17}[\dX]$/.test(n)) return { ok: false, error: "id_bad_chars" };
    if (PROVINCES.indexOf(n.slice(0, 2)) < 0) return { ok: false, error: "id_bad_region" };
    var y = Number(n.slice(6, 10)), m = Number(n.slice(10, 12)), d = Number(n.slice(12, 14));
    var birth = new Date(Date.UTC(y, m - 1, d));
    if (birth.getUTCFullYear() !== y || birth.getUTCMonth() !== m - 1 || birth.getUTCDate() !== d) return { ok: false, error: "id_bad_date" };
    var age = today.getFullYear() - y - ((today.getMonth() + 1 < m || (today.getMonth() + 1 === m && today.getDate() < d)) ? 1 : 0);
    if (age < 0 || age > 120) return { ok: false, error: "id_bad_date" };
    if (checkDigit(n.slice(0, 17)) !== n[17]) return { ok: false, error: "id_bad_check" };
    return { ok: true, number: n, birth: n.slice(6, 10) + "-" + n.slice(10, 12) + "-" + n.slice(12, 14), sex: Number(n[16]) % 2 ? "M" : "F", age: age };
  }

  global.IdCard = { parse: parse, normalise: normalise, checkDigit: checkDigit };
})(self);
