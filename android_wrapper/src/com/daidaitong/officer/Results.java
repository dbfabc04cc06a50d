package com.daidaitong.officer;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.LinkedHashMap;
import java.util.Map;

import org.json.JSONArray;
import org.json.JSONException;
import org.json.JSONObject;

/**
 * The results of identity, location, network and version, built from plain values (what the
 * Android handlers read), so that their shape is checked on the JVM against PROTOCOL.md's examples.
 */
public final class Results {
    private Results() {}

    public static final String PERMISSION_DENIED = "permission_denied";
    public static final String IDENTIFIERS_RESTRICTED = "device_identifiers_restricted";
    public static final String SIM_ABSENT = "sim_absent";
    public static final String NOT_PROVIDED = "not_provided";

    /** What the telephony services said about the SIM; a refused field is null with its reason. */
    public static final class SimReading {
        public boolean present;
        /** ready, absent, locked, unknown */
        public String state = "unknown";
        public String operator;
        public String operatorName;
        public String imsi;
        public String serial;
        public String lineNumber;
        public Integer subscriptionId;
        /** field name (imsi, serial, line_number, subscription_id) → reason it is null. */
        public final Map<String, String> refused = new LinkedHashMap<String, String>();

        public SimReading refuse(String field, String reason) {
            refused.put(field, reason);
            return this;
        }
    }

    private static String blankToNull(String s) {
        return s == null || s.trim().isEmpty() ? null : s.trim();
    }

    /**
     * The identity result. Never silently empty: imsi, serial, line_number and subscription_id, when
     * null, are listed in restricted with the reason given, or sim_absent / not_provided.
     */
    public static JSONObject identity(String installationId, SimReading r, boolean changed, int sdk, String model) {
        try {
            String imsi = blankToNull(r.imsi);
            String serial = blankToNull(r.serial);
            String line = blankToNull(r.lineNumber);
            JSONArray restricted = new JSONArray();
            restrict(restricted, "imsi", imsi, r);
            restrict(restricted, "serial", serial, r);
            restrict(restricted, "line_number", line, r);
            if (r.subscriptionId == null && (r.present || r.refused.containsKey("subscription_id"))) {
                restrict(restricted, "subscription_id", null, r);
            }
            JSONObject sim = new JSONObject();
            sim.put("present", r.present);
            sim.put("state", r.state);
            sim.put("operator", Protocol.orNull(r.present ? blankToNull(r.operator) : null));
            sim.put("operator_name", Protocol.orNull(r.present ? blankToNull(r.operatorName) : null));
            sim.put("imsi", Protocol.orNull(imsi));
            sim.put("serial", Protocol.orNull(serial));
            sim.put("line_number", Protocol.orNull(line));
            sim.put("subscription_id", Protocol.orNull(r.subscriptionId));
            sim.put("changed", changed);
            JSONObject android = new JSONObject();
            android.put("sdk", sdk);
            android.put("model", Protocol.orNull(model));
            JSONObject o = new JSONObject();
            o.put("installation_id", installationId);
            o.put("sim", sim);
            o.put("restricted", restricted);
            o.put("android", android);
            return o;
        } catch (JSONException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void restrict(JSONArray out, String field, String value, SimReading r) throws JSONException {
        if (value != null) return;
        String reason = r.refused.get(field);
        if (reason == null) reason = r.present ? NOT_PROVIDED : SIM_ABSENT;
        JSONObject e = new JSONObject();
        e.put("field", field);
        e.put("reason", reason);
        out.put(e);
    }

    // ---- Which SIM was seen last (kept in the app's preferences as hashes, never the raw IMSI) ----

    /** Another SIM than the one remembered (null: nothing remembered yet, so not changed). */
    public static boolean simChanged(String remembered, SimReading now) {
        if (remembered == null) return false;
        JSONObject last;
        try {
            last = new JSONObject(remembered);
        } catch (JSONException e) {
            return false;
        }
        if (last.optBoolean("present") != now.present) return true;
        if (!now.present) return false;
        String[][] strong = {{"imsi", hash(blankToNull(now.imsi))}, {"serial", hash(blankToNull(now.serial))}};
        for (String[] f : strong) {
            String before = last.optString(f[0], null);
            if (before != null && f[1] != null) return !before.equals(f[1]);
        }
        String sub = subKey(now);
        String before = last.optString("sub", null);
        return before != null && sub != null && !before.equals(sub);
    }

    /** What to remember of the SIM now: its hashes, keeping known ones when the same SIM says less. */
    public static String remember(String remembered, SimReading now) {
        try {
            JSONObject o = new JSONObject();
            if (remembered != null && !simChanged(remembered, now)) {
                try {
                    o = new JSONObject(remembered);
                } catch (JSONException e) {
                    o = new JSONObject();
                }
            }
            o.put("present", now.present);
            if (!now.present) {
                o.remove("imsi");
                o.remove("serial");
                o.remove("sub");
                return o.toString();
            }
            String imsi = hash(blankToNull(now.imsi));
            String serial = hash(blankToNull(now.serial));
            String sub = subKey(now);
            if (imsi != null) o.put("imsi", imsi);
            if (serial != null) o.put("serial", serial);
            if (sub != null) o.put("sub", sub);
            return o.toString();
        } catch (JSONException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String subKey(SimReading r) {
        if (r.subscriptionId == null) return null;
        return hash(r.subscriptionId + "/" + (r.operator == null ? "" : r.operator));
    }

    static String hash(String s) {
        return s == null ? null : sha256Hex(s.getBytes(StandardCharsets.UTF_8));
    }

    public static String sha256Hex(byte[] data) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(data);
            StringBuilder sb = new StringBuilder(d.length * 2);
            for (byte b : d) {
                sb.append(Character.forDigit((b >> 4) & 0xf, 16)).append(Character.forDigit(b & 0xf, 16));
            }
            return sb.toString();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    // ---- location, network, version ----

    public static JSONObject location(double lat, double lon, float accuracyM, long timeMillis, String provider, boolean mock) {
        try {
            JSONObject o = new JSONObject();
            o.put("lat", lat);
            o.put("lon", lon);
            o.put("accuracy_m", Math.round(accuracyM));
            o.put("at", Protocol.isoUtc(timeMillis));
            o.put("provider", Protocol.orNull(provider));
            o.put("is_mock", mock);
            return o;
        } catch (JSONException e) {
            throw new IllegalStateException(e);
        }
    }

    /** type: wifi, cellular, ethernet, other, none. */
    public static JSONObject network(String type, boolean metered, boolean connected) {
        try {
            JSONObject o = new JSONObject();
            o.put("type", type);
            o.put("metered", metered);
            o.put("connected", connected);
            return o;
        } catch (JSONException e) {
            throw new IllegalStateException(e);
        }
    }

    public static JSONObject version(String pkg, int versionCode, String versionName, String signerSha256) {
        try {
            JSONObject o = new JSONObject();
            o.put("package", pkg);
            o.put("version_code", versionCode);
            o.put("version_name", versionName);
            o.put("signer_sha256", Protocol.orNull(signerSha256));
            return o;
        } catch (JSONException e) {
            throw new IllegalStateException(e);
        }
    }
}
