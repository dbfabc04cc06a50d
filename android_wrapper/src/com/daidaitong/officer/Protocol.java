package com.daidaitong.officer;

import java.nio.charset.StandardCharsets;
import java.text.SimpleDateFormat;
import java.util.Date;
import java.util.Locale;
import java.util.TimeZone;
import java.util.regex.Pattern;

import org.json.JSONArray;
import org.json.JSONException;
import org.json.JSONObject;
import org.json.JSONTokener;

/**
 * The bridge protocol, version 1, exactly as android_wrapper/PROTOCOL.md defines it: reading a
 * request (strictly: size, version, id, type, each type's arguments) and writing replies, events
 * and the hello. Pure Java and org.json, no android.* classes: tested on the JVM.
 */
public final class Protocol {
    public static final int VERSION = 1;
    public static final int MAX_BYTES = 64 * 1024;

    public static final String BAD_MESSAGE = "bad_message";
    public static final String UNSUPPORTED_VERSION = "unsupported_version";
    public static final String UNKNOWN_TYPE = "unknown_type";
    public static final String BAD_ARGS = "bad_args";
    /** Errors a handler answers with (PROTOCOL.md, "Messages"). */
    public static final String PERMISSION_DENIED = "permission_denied";
    public static final String UNAVAILABLE = "unavailable";
    public static final String TIMEOUT = "timeout";
    public static final String INTERNAL = "internal";

    /** Every request type of version 1. */
    public static final String[] TYPES = {
        "identity", "location", "network", "version",
        "trail.start", "trail.stop", "trail.take", "trail.ack",
        "update.check", "update.install", "sync.done",
    };

    private static final Pattern ID = Pattern.compile("[A-Za-z0-9_.:-]{1,64}");
    private static final Pattern HOURS = Pattern.compile("([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]");
    private static final Pattern UUID = Pattern.compile(
        "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");

    private Protocol() {}

    /** A request that passed every check; args holds each argument, defaults filled in. */
    public static final class Request {
        public final String id;
        public final String type;
        public final JSONObject args;

        Request(String id, String type, JSONObject args) {
            this.id = id;
            this.type = type;
            this.args = args;
        }
    }

    /** Why a message was refused: code is one of the protocol's error codes; id null if unread. */
    public static final class ProtocolError extends Exception {
        public final String code;
        public final String id;

        public ProtocolError(String code, String id, String message) {
            super(message);
            this.code = code;
            this.id = id;
        }
    }

    public static boolean isKnownType(String type) {
        for (String t : TYPES) {
            if (t.equals(type)) return true;
        }
        return false;
    }

    /** Reads one request, or throws the error the page is answered with. */
    public static Request parse(String text) throws ProtocolError {
        if (text == null) throw new ProtocolError(BAD_MESSAGE, null, "empty message");
        if (text.length() > MAX_BYTES || text.getBytes(StandardCharsets.UTF_8).length > MAX_BYTES) {
            throw new ProtocolError(BAD_MESSAGE, null, "message larger than 64 KiB");
        }
        Object value;
        try {
            JSONTokener tokener = new JSONTokener(text);
            value = tokener.nextValue();
            if (tokener.nextClean() != 0) throw new ProtocolError(BAD_MESSAGE, null, "text after the JSON object");
        } catch (JSONException e) {
            throw new ProtocolError(BAD_MESSAGE, null, "not JSON");
        }
        if (!(value instanceof JSONObject)) throw new ProtocolError(BAD_MESSAGE, null, "not a JSON object");
        JSONObject o = (JSONObject) value;

        Object rawId = o.opt("id");
        if (!(rawId instanceof String) || !ID.matcher((String) rawId).matches()) {
            throw new ProtocolError(BAD_MESSAGE, null, rawId == null ? "missing id" : "malformed id");
        }
        String id = (String) rawId;

        Object v = o.opt("v");
        if (!isInteger(v) || ((Number) v).longValue() != VERSION) {
            throw new ProtocolError(UNSUPPORTED_VERSION, id,
                "protocol version " + (v == null ? "(missing)" : String.valueOf(v)) + " is not supported (" + VERSION + ")");
        }

        Object rawType = o.opt("type");
        if (!(rawType instanceof String)) throw new ProtocolError(BAD_MESSAGE, id, "missing type");
        String type = (String) rawType;
        if (!isKnownType(type)) throw new ProtocolError(UNKNOWN_TYPE, id, "unknown message type: " + clip(type));

        JSONObject args;
        if (!o.has("args")) {
            args = new JSONObject();
        } else if (o.opt("args") instanceof JSONObject) {
            args = (JSONObject) o.opt("args");
        } else {
            throw new ProtocolError(BAD_MESSAGE, id, "args is not an object");
        }
        return new Request(id, type, checkArgs(id, type, args));
    }

    private static JSONObject checkArgs(String id, String type, JSONObject in) throws ProtocolError {
        JSONObject out = new JSONObject();
        try {
            if ("location".equals(type)) {
                out.put("timeout_ms", intArg(id, in, "timeout_ms", 1000, 120000, 30000));
                out.put("max_age_ms", intArg(id, in, "max_age_ms", 0, 600000, 0));
            } else if ("trail.start".equals(type)) {
                out.put("interval_min", intArg(id, in, "interval_min", 1, 120, null));
                Object hours = in.opt("hours");
                if (!(hours instanceof String) || !HOURS.matcher((String) hours).matches()) {
                    throw new ProtocolError(BAD_ARGS, id, "hours must be HH:MM-HH:MM");
                }
                out.put("hours", hours);
            } else if ("trail.take".equals(type)) {
                out.put("max", intArg(id, in, "max", 1, 1000, 500));
            } else if ("trail.ack".equals(type)) {
                Object uuids = in.opt("uuids");
                if (!(uuids instanceof JSONArray)) throw new ProtocolError(BAD_ARGS, id, "uuids must be a list");
                JSONArray list = (JSONArray) uuids;
                if (list.length() < 1 || list.length() > 1000) {
                    throw new ProtocolError(BAD_ARGS, id, "uuids must hold 1 to 1000 UUIDs");
                }
                JSONArray clean = new JSONArray();
                for (int i = 0; i < list.length(); i++) {
                    Object u = list.opt(i);
                    if (!(u instanceof String) || !UUID.matcher((String) u).matches()) {
                        throw new ProtocolError(BAD_ARGS, id, "uuids[" + i + "] is not a UUID");
                    }
                    clean.put(((String) u).toLowerCase(Locale.ROOT));
                }
                out.put("uuids", clean);
            } else if ("sync.done".equals(type)) {
                Object ok = in.opt("ok");
                if (!(ok instanceof Boolean)) throw new ProtocolError(BAD_ARGS, id, "ok must be true or false");
                out.put("ok", ok);
            }
        } catch (JSONException e) {
            throw new ProtocolError(BAD_ARGS, id, "bad arguments");
        }
        return out;
    }

    private static int intArg(String id, JSONObject in, String name, int min, int max, Integer dflt) throws ProtocolError {
        if (!in.has(name)) {
            if (dflt == null) throw new ProtocolError(BAD_ARGS, id, name + " is required");
            return dflt;
        }
        Object v = in.opt(name);
        if (!isInteger(v)) throw new ProtocolError(BAD_ARGS, id, name + " must be an integer");
        long n = ((Number) v).longValue();
        if (n < min || n > max) throw new ProtocolError(BAD_ARGS, id, name + " must be " + min + "–" + max);
        return (int) n;
    }

    private static boolean isInteger(Object v) {
        return v instanceof Integer || v instanceof Long || v instanceof Short || v instanceof Byte;
    }

    private static String clip(String s) {
        return s.length() <= 64 ? s : s.substring(0, 64) + "…";
    }

    // ---- What the app sends ----

    /** {"v":1,"type":"hello","app":{package, version_code, version_name}} */
    public static String hello(String pkg, int versionCode, String versionName) {
        try {
            JSONObject app = new JSONObject();
            app.put("package", pkg);
            app.put("version_code", versionCode);
            app.put("version_name", versionName);
            JSONObject o = new JSONObject();
            o.put("v", VERSION);
            o.put("type", "hello");
            o.put("app", app);
            return o.toString();
        } catch (JSONException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A successful reply to request id. */
    public static String ok(String id, JSONObject result) {
        try {
            JSONObject o = new JSONObject();
            o.put("v", VERSION);
            o.put("id", id);
            o.put("ok", true);
            o.put("result", result == null ? new JSONObject() : result);
            return o.toString();
        } catch (JSONException e) {
            throw new IllegalStateException(e);
        }
    }

    /** An error reply; id may be null (the request's id could not be read). */
    public static String error(String id, String code, String message) {
        try {
            JSONObject error = new JSONObject();
            error.put("code", code);
            error.put("message", message == null ? code : message);
            JSONObject o = new JSONObject();
            o.put("v", VERSION);
            o.put("id", id == null ? JSONObject.NULL : id);
            o.put("ok", false);
            o.put("error", error);
            return o.toString();
        } catch (JSONException e) {
            throw new IllegalStateException(e);
        }
    }

    public static String error(ProtocolError e) {
        return error(e.id, e.code, e.getMessage());
    }

    /** An unsolicited event. */
    public static String event(String name, JSONObject data) {
        try {
            JSONObject o = new JSONObject();
            o.put("v", VERSION);
            o.put("type", "event");
            o.put("event", name);
            o.put("data", data == null ? new JSONObject() : data);
            return o.toString();
        } catch (JSONException e) {
            throw new IllegalStateException(e);
        }
    }

    /** ISO 8601 UTC to the second, e.g. 2026-12-01T02:30:00Z. */
    public static String isoUtc(long epochMillis) {
        SimpleDateFormat f = new SimpleDateFormat("yyyy-MM-dd'T'HH:mm:ss'Z'", Locale.ROOT);
        f.setTimeZone(TimeZone.getTimeZone("UTC"));
        return f.format(new Date(epochMillis));
    }

    /** JSON null for a Java null (org.json drops keys put with null). */
    public static Object orNull(Object v) {
        return v == null ? JSONObject.NULL : v;
    }
}
