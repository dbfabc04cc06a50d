// Repayment schedules on the officer's phone: a line-by-line port of app/domain/schedule.py.
// It must give the server's fen exactly, so it does the same integer arithmetic with BigInt:
// money in fen, the annual rate in units of 1e-18, time in 1/26280 of a year, and every
// division rounded half-up on non-negative integers (div). Read the Python module's docstring
// for the rules; tests/vectors/schedules.json holds the numbers both must produce.
// Only the effective annual rate is computed in floats (a display figure, 4 places).
//
//   Schedule.build({principal: "10000.00", annual_rate: "0.12", term_months: 12,
//                   method: "annuity", start: "2026-01-15", frequency: "monthly",
//                   first_due: null, due_dates: [], day_count: "act/360"})
//   -> {lines: [{seq, due_date, principal, interest, total, balance}], total_principal,
//       total_interest, total, effective_annual_rate}   (money as "888.49" strings)
//   Bad input throws Schedule.ScheduleError {message: English msgid, params}.
(function (global) {
  "use strict";
  var METHODS = ["annuity", "equal_principal", "interest_only", "bullet", "flat"];
  var FREQUENCIES = ["monthly", "quarterly", "custom"];
  var DAY_COUNTS = ["act/360", "act/365", "30/360"];
  var MAX_INSTALLMENTS = 600;
  var RATE_PLACES = 18;
  var FIRST_YEAR = 1900, LAST_YEAR = 2999;
  var ZERO = BigInt(0), ONE = BigInt(1), TWO = BigInt(2);
  var RATE_SCALE = BigInt("1000000000000000000");
  var YEAR_UNITS = BigInt(26280); // lcm(12, 360, 365)
  var MONTH_UNITS = 2190;
  var DAY_UNITS = { "act/360": 73, "act/365": 72, "30/360": 73 };
  var STEP_MONTHS = { monthly: 1, quarterly: 3 };
  var MAX_PRINCIPAL_FEN = BigInt("100000000000000"); // 10^12 yuan, exclusive
  var NUMBER = /^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$/;
  var DATE = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/;

  function ScheduleError(message, params) {
    this.name = "ScheduleError";
    this.message = message;
    this.params = params || {};
  }
  ScheduleError.prototype = Object.create(Error.prototype);
  ScheduleError.prototype.constructor = ScheduleError;

  // --- integer helpers (twins of the Python ones) ---

  function div(a, b) { // half-up, a >= 0, b > 0: BigInt division truncates, i.e. floors here
    return (TWO * a + b) / (TWO * b);
  }

  function big(n) { return BigInt(n); }

  function sum(list) {
    var s = ZERO;
    for (var i = 0; i < list.length; i++) s += list[i];
    return s;
  }

  // --- dates: [year, month, day]; day numbers (days since 1970-01-01) for differences ---

  function isLeap(y) { return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0; }

  function daysInMonth(y, m) {
    return [31, isLeap(y) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1];
  }

  function dayNumber(date) { // H. Hinnant's days_from_civil
    var y = date[0] - (date[1] <= 2 ? 1 : 0), m = date[1], d = date[2];
    var era = Math.floor(y / 400);
    var yoe = y - era * 400;
    var doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
    var doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
    return era * 146097 + doe - 719468;
  }

  function addMonths(anchor, months) { // the anchor's day of month, clamped to the month's end
    var index = anchor[0] * 12 + anchor[1] - 1 + months;
    var y = Math.floor(index / 12), m = index % 12 + 1;
    return [y, m, Math.min(anchor[2], daysInMonth(y, m))];
  }

  function iso(date) {
    function pad(n, w) { var s = String(n); while (s.length < w) s = "0" + s; return s; }
    return pad(date[0], 4) + "-" + pad(date[1], 2) + "-" + pad(date[2], 2);
  }

  function days30e360(d1, d2) {
    return 360 * (d2[0] - d1[0]) + 30 * (d2[1] - d1[1]) + Math.min(d2[2], 30) - Math.min(d1[2], 30);
  }

  function unitsBetween(d1, d2, dayCount) {
    var days = dayCount === "30/360" ? days30e360(d1, d2) : dayNumber(d2) - dayNumber(d1);
    return days * DAY_UNITS[dayCount];
  }

  function interest(balance, rate, units) {
    return div(balance * rate * big(units), YEAR_UNITS * RATE_SCALE);
  }

  function equalPart(principal, n) {
    var part = div(principal, big(n));
    return part * big(n - 1) <= principal ? part : principal / big(n);
  }

  function flatInterest(principal, rate, units) {
    var all = 0, k, lines = [];
    for (k = 0; k < units.length; k++) all += units[k];
    var total = interest(principal, rate, all);
    for (k = 0; k < units.length - 1; k++) lines.push(interest(principal, rate, units[k]));
    if (sum(lines) > total) {
      lines = [];
      for (k = 0; k < units.length - 1; k++) lines.push(principal * rate * big(units[k]) / (YEAR_UNITS * RATE_SCALE));
    }
    lines.push(total - sum(lines));
    return lines;
  }

  function levelPayment(principal, rates) {
    var growth = RATE_SCALE, weights = ZERO;
    for (var k = rates.length - 1; k >= 0; k--) {
      weights += growth;
      growth = div(growth * (RATE_SCALE + rates[k]), RATE_SCALE);
    }
    return div(principal * growth, weights);
  }

  // --- input: the same parsing as parse_request ---

  // -> {negative, whole: "digits", fraction: "digits"} or null
  function parseNumber(value, message) {
    if (typeof value === "number" && Number.isInteger(value)) value = String(value);
    var text = typeof value === "string" ? value.trim() : "";
    if (!NUMBER.test(text)) throw new ScheduleError(message, { text: typeof value === "string" ? value : "" });
    var negative = text.charAt(0) === "-";
    text = text.replace(/^[+-]/, "");
    var dot = text.indexOf(".");
    return {
      negative: negative,
      whole: dot < 0 ? text : text.slice(0, dot) || "0",
      fraction: dot < 0 ? "" : text.slice(dot + 1),
    };
  }

  function isZero(num) { return !/[1-9]/.test(num.whole + num.fraction); }

  // The number times 10^places, if that is a whole number; else null.
  function scaled(num, places) {
    var fraction = num.fraction;
    if (/[1-9]/.test(fraction.slice(places))) return null;
    while (fraction.length < places) fraction += "0";
    return BigInt(num.whole + fraction.slice(0, places));
  }

  function parseTerm(value) {
    if (value === null || value === undefined || value === "") return 0;
    if (typeof value === "number" && Number.isInteger(value)) return value;
    if (typeof value === "string" && /^[0-9]{1,4}$/.test(value.trim())) return parseInt(value.trim(), 10);
    throw new ScheduleError("The term must be a whole number of months");
  }

  function parseDate(value) {
    var text = typeof value === "string" ? value.trim() : "";
    var match = DATE.exec(text);
    if (match) {
      var y = parseInt(match[1], 10), m = parseInt(match[2], 10), d = parseInt(match[3], 10);
      if (y >= 1 && m >= 1 && m <= 12 && d >= 1 && d <= daysInMonth(y, m)) return [y, m, d];
    }
    throw new ScheduleError("%(text)s is not a date (YYYY-MM-DD)", { text: typeof value === "string" ? value : "" });
  }

  function parseRequest(data) {
    var firstDue = data.first_due;
    return {
      principal: parseNumber(data.principal, "%(text)s is not a valid amount"),
      annual_rate: parseNumber(data.annual_rate, "%(text)s is not a valid annual rate"),
      term_months: parseTerm(data.term_months),
      method: String(data.method || ""),
      start: parseDate(data.start),
      frequency: String(data.frequency || "monthly"),
      first_due: firstDue === null || firstDue === undefined || firstDue === "" ? null : parseDate(firstDue),
      due_dates: (data.due_dates || []).map(parseDate),
      day_count: String(data.day_count || "act/360"),
    };
  }

  // --- validation, in the order of _plan ---

  function plan(req) {
    if (METHODS.indexOf(req.method) < 0) throw new ScheduleError("Unknown repayment method %(method)s", { method: req.method });
    if (FREQUENCIES.indexOf(req.frequency) < 0) {
      throw new ScheduleError("Unknown repayment frequency %(frequency)s", { frequency: req.frequency });
    }
    if (DAY_COUNTS.indexOf(req.day_count) < 0) throw new ScheduleError("Unknown day count %(day_count)s", { day_count: req.day_count });

    var p = req.principal;
    if (p.negative || isZero(p)) throw new ScheduleError("The principal must be more than zero");
    var fen = scaled(p, 2);
    if (fen === null) throw new ScheduleError("The principal has fractions of a fen");
    if (fen >= MAX_PRINCIPAL_FEN) throw new ScheduleError("The principal is too large");
    var r = req.annual_rate;
    if (r.negative && !isZero(r)) throw new ScheduleError("The annual rate cannot be negative");
    if (BigInt(r.whole) >= ONE) {
      throw new ScheduleError("The annual rate must be below 1: give it as a fraction, 0.12 for 12 per cent");
    }
    var rate = scaled(r, RATE_PLACES);
    if (rate === null) throw new ScheduleError("The annual rate has more than %(places)s decimal places", { places: RATE_PLACES });

    var start = req.start;
    if (start[0] < FIRST_YEAR || start[0] > LAST_YEAR) {
      throw new ScheduleError("The start date %(date)s is outside the years %(first)s to %(last)s",
        { date: iso(start), first: FIRST_YEAR, last: LAST_YEAR });
    }
    var periods, payUnits = [];
    if (req.frequency === "custom") {
      periods = customPeriods(req, start);
      payUnits = periods.units;
    } else {
      periods = regularPeriods(req, start);
      for (var k = 0; k < periods.units.length; k++) payUnits.push(STEP_MONTHS[req.frequency] * MONTH_UNITS);
    }
    return { principal: fen, rate: rate, dues: periods.dues, units: periods.units, payUnits: payUnits };
  }

  function regularPeriods(req, start) {
    var step = STEP_MONTHS[req.frequency];
    if (req.due_dates.length) throw new ScheduleError("Due dates can only be listed for a custom schedule");
    var term = req.term_months;
    if (!(term >= 1 && term <= MAX_INSTALLMENTS)) {
      throw new ScheduleError("The term must be between 1 and %(max)s months", { max: MAX_INSTALLMENTS });
    }
    if (term % step) {
      throw new ScheduleError("A quarterly schedule needs a term in whole quarters; %(term)s months is not", { term: term });
    }
    var n = term / step, anchor = start, offset = 1, broken = false;
    if (req.first_due !== null) {
      var first = req.first_due, latest = addMonths(start, 2 * step);
      if (!(dayNumber(start) < dayNumber(first) && dayNumber(first) <= dayNumber(latest))) {
        throw new ScheduleError("The first due date %(date)s must be after the start date and no later than %(latest)s",
          { date: iso(first), latest: iso(latest) });
      }
      if (dayNumber(first) !== dayNumber(addMonths(start, step))) {
        anchor = first; offset = 0; broken = true;
      }
    }
    var dues = [], units = [];
    for (var k = 0; k < n; k++) {
      dues.push(addMonths(anchor, (k + offset) * step));
      units.push(step * MONTH_UNITS);
    }
    if (broken) units[0] = unitsBetween(start, anchor, req.day_count);
    return { dues: dues, units: units };
  }

  function customPeriods(req, start) {
    if (req.first_due !== null) throw new ScheduleError("A custom schedule has no separate first due date: list every due date");
    var dues = req.due_dates;
    if (!dues.length) throw new ScheduleError("A custom schedule needs at least one due date");
    if (dues.length > MAX_INSTALLMENTS) {
      throw new ScheduleError("A schedule can have at most %(max)s installments", { max: MAX_INSTALLMENTS });
    }
    if (req.method === "bullet" && dues.length !== 1) {
      throw new ScheduleError("A bullet loan has exactly one due date, not %(count)s", { count: dues.length });
    }
    var previous = start, units = [];
    for (var k = 0; k < dues.length; k++) {
      var due = dues[k];
      if (dayNumber(due) <= dayNumber(previous)) {
        if (dayNumber(due) <= dayNumber(start)) {
          throw new ScheduleError("The due date %(date)s is not after the start date %(start)s",
            { date: iso(due), start: iso(start) });
        }
        throw new ScheduleError("The due dates must increase: %(date)s comes after %(previous)s",
          { date: iso(due), previous: iso(previous) });
      }
      units.push(unitsBetween(previous, due, req.day_count));
      previous = due;
    }
    return { dues: dues, units: units };
  }

  // --- the schedule ---

  function linesFen(pl, method) { // -> [[due, principal, interest]]
    var p = pl.principal, rate = pl.rate, n = pl.dues.length, k;
    if (method === "bullet") {
      var allUnits = 0;
      for (k = 0; k < n; k++) allUnits += pl.units[k];
      return [[pl.dues[n - 1], p, interest(p, rate, allUnits)]];
    }
    var part = equalPart(p, n);
    var payRates = [], zeroRate = true;
    for (k = 0; k < n; k++) {
      payRates.push(div(rate * big(pl.payUnits[k]), YEAR_UNITS));
      if (payRates[k] !== ZERO) zeroRate = false;
    }
    var payment = zeroRate ? part : levelPayment(p, payRates);
    var flat = method === "flat" ? flatInterest(p, rate, pl.units) : null;
    var lines = [], balance = p;
    for (k = 0; k < n; k++) {
      var owed = flat ? flat[k] : interest(balance, rate, pl.units[k]);
      var principal;
      if (k === n - 1) principal = balance;
      else if (method === "equal_principal" || method === "flat") principal = part;
      else if (method === "interest_only") principal = ZERO;
      else { // annuity
        principal = payment - interest(balance, rate, pl.payUnits[k]);
        if (principal < ZERO) principal = ZERO;
        if (principal > balance) principal = balance;
      }
      balance -= principal;
      lines.push([pl.dues[k], principal, owed]);
    }
    return lines;
  }

  function money(fen) { // BigInt fen >= 0 -> "1234.56"
    var s = fen.toString();
    while (s.length < 3) s = "0" + s;
    return s.slice(0, -2) + "." + s.slice(-2);
  }

  // Same safeguarded Newton as _effective_rate, in floats: a display figure only.
  function effectiveRate(principal, flows) {
    if (sum(flows.map(function (f) { return f[1]; })) === principal) return "0.0000";
    var times = [], paid = 0, weighted = 0, target = Number(principal);
    flows.forEach(function (f) {
      if (f[1] === ZERO) return;
      var t = f[0] / 365, c = Number(f[1]);
      times.push([t, c]);
      paid += c;
      weighted += t * c;
    });
    function npv(y) {
      var value = 0, slope = 0, log = Math.log(1 + y);
      for (var i = 0; i < times.length; i++) {
        var pv = times[i][1] * Math.exp(-times[i][0] * log);
        value += pv;
        slope -= times[i][0] * pv;
      }
      return [value - target, slope / (1 + y)];
    }
    var y = (paid / target - 1) / (weighted / paid), lo = 0, hi = y;
    for (var i = 0; i < 100; i++) {
      var f = npv(y);
      if (f[0] > 0) lo = y; else hi = y;
      var next = y - f[0] / f[1];
      if (next <= lo) next = (lo + hi) / 2;
      if (Math.abs(next - y) < 1e-10) { y = next; break; }
      y = next;
    }
    return (Math.round(y * 10000) / 10000).toFixed(4);
  }

  function build(input) {
    var req = parseRequest(input || {});
    var pl = plan(req);
    var raw = linesFen(pl, req.method);
    var lines = [], flows = [], balance = pl.principal, totalInterest = ZERO, startDay = dayNumber(req.start);
    for (var k = 0; k < raw.length; k++) {
      var principal = raw[k][1], owed = raw[k][2];
      balance -= principal;
      totalInterest += owed;
      lines.push({
        seq: k + 1,
        due_date: iso(raw[k][0]),
        principal: money(principal),
        interest: money(owed),
        total: money(principal + owed),
        balance: money(balance),
      });
      flows.push([dayNumber(raw[k][0]) - startDay, principal + owed]);
    }
    return {
      lines: lines,
      total_principal: money(pl.principal),
      total_interest: money(totalInterest),
      total: money(pl.principal + totalInterest),
      effective_annual_rate: effectiveRate(pl.principal, flows),
    };
  }

  // "%(name)s" placeholders filled, for showing an error's (translated) message.
  function format(message, params) {
    return message.replace(/%\((\w+)\)s/g, function (_, name) { return String((params || {})[name]); });
  }

  global.Schedule = { build: build, format: format, ScheduleError: ScheduleError };
})(self);
