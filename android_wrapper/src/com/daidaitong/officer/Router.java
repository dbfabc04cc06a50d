package com.daidaitong.officer;

import java.util.HashMap;
import java.util.Map;

import org.json.JSONObject;

/**
 * Reads each message the page sends and hands it to the handler registered for its type; every
 * request gets exactly one reply. Pure Java: the Bridge gives it an Out that posts on the main
 * thread to the message port the request came from.
 */
public final class Router {
    /** Answers one request, now or later, from any thread, by calling reply.ok or reply.fail once. */
    public interface Handler {
        void handle(Protocol.Request req, Reply reply);
    }

    /** The one reply to a request. Thread-safe; only the first call counts. */
    public interface Reply {
        void ok(JSONObject result);

        void fail(String code, String message);
    }

    /** Where reply texts go (the Bridge: the request's port, on the main thread). */
    public interface Out {
        void post(String message);
    }

    /** Log lines (logcat in the app, a list in the tests). */
    public interface Log {
        void warn(String message);
    }

    private final Map<String, Handler> handlers = new HashMap<String, Handler>();
    private final Log log;

    public Router(Log log) {
        this.log = log;
    }

    public synchronized void register(String type, Handler h) {
        if (!Protocol.isKnownType(type)) throw new IllegalArgumentException("not a protocol type: " + type);
        handlers.put(type, h);
    }

    public synchronized boolean has(String type) {
        return handlers.containsKey(type);
    }

    /** Reads text and answers it through out: an error for a bad message, else the handler's reply. */
    public void dispatch(String text, Out out) {
        Protocol.Request req;
        try {
            req = Protocol.parse(text);
        } catch (Protocol.ProtocolError e) {
            log.warn("refused message: " + e.code + " (" + e.getMessage() + ")");
            out.post(Protocol.error(e));
            return;
        }
        Handler h;
        synchronized (this) {
            h = handlers.get(req.type);
        }
        OnceReply reply = new OnceReply(req.id, out, log);
        if (h == null) {
            reply.fail(Protocol.UNAVAILABLE, req.type + " is not available in this app");
            return;
        }
        try {
            h.handle(req, reply);
        } catch (RuntimeException e) {
            log.warn(req.type + " failed: " + e);
            reply.fail(Protocol.INTERNAL, req.type + " failed");
        }
    }

    static final class OnceReply implements Reply {
        private final String id;
        private final Out out;
        private final Log log;
        private boolean sent;

        OnceReply(String id, Out out, Log log) {
            this.id = id;
            this.out = out;
            this.log = log;
        }

        private synchronized boolean first() {
            if (sent) {
                log.warn("second reply to " + id + " dropped");
                return false;
            }
            sent = true;
            return true;
        }

        @Override
        public void ok(JSONObject result) {
            if (first()) out.post(Protocol.ok(id, result));
        }

        @Override
        public void fail(String code, String message) {
            if (first()) out.post(Protocol.error(id, code, message));
        }
    }
}
