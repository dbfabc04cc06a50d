// The HTTP stack the tus client uploads photos with: fetch instead of XMLHttpRequest, so the same
// upload code runs in the page and in the service worker (which has no XMLHttpRequest). tus-js-client
// keeps doing the protocol (HEAD for the offset, PATCH per chunk, its retry delays); this only
// carries the requests. fetch reports no upload progress: a chunk counts as sent when its answer
// comes, so the progress bar moves chunk by chunk (256 KiB by default).

function FetchRequest(method, url) {
  this._method = method;
  this._url = url;
  this._headers = {};
  this._progress = function () {};
  this._controller = typeof AbortController === "function" ? new AbortController() : null;
}

FetchRequest.prototype.getMethod = function () { return this._method; };
FetchRequest.prototype.getURL = function () { return this._url; };
FetchRequest.prototype.setHeader = function (name, value) { this._headers[name] = value; };
FetchRequest.prototype.getHeader = function (name) { return this._headers[name]; };
FetchRequest.prototype.setProgressHandler = function (fn) { this._progress = fn; };
FetchRequest.prototype.getUnderlyingObject = function () { return this._controller; };

FetchRequest.prototype.send = function (body) {
  var self = this;
  var size = body && typeof body.size === "number" ? body.size : 0;
  return fetch(this._url, {
    method: this._method,
    headers: this._headers,
    body: body === undefined || body === null ? undefined : body,
    cache: "no-store",
    credentials: "same-origin",
    signal: this._controller ? this._controller.signal : undefined,
  }).then(function (resp) {
    // The body is read now, so the tus client can read it synchronously (an error's JSON).
    return resp.text().catch(function () { return ""; }).then(function (text) {
      if (size && resp.ok) self._progress(size);
      return new FetchResponse(resp, text);
    });
  });
  // A network failure rejects: tus-js-client reports it as an error without a response (status 0).
};

FetchRequest.prototype.abort = function () {
  if (this._controller) this._controller.abort();
  return Promise.resolve();
};

function FetchResponse(resp, text) {
  this._resp = resp;
  this._text = text;
}

FetchResponse.prototype.getStatus = function () { return this._resp.status; };
FetchResponse.prototype.getHeader = function (name) { return this._resp.headers.get(name); };
FetchResponse.prototype.getBody = function () { return this._text; };
FetchResponse.prototype.getUnderlyingObject = function () { return this._resp; };

export const fetchHttpStack = {
  createRequest: function (method, url) { return new FetchRequest(method, url); },
  getName: function () { return "FetchHttpStack"; },
};
