package com.daidaitong.officer;

import java.net.MalformedURLException;
import java.net.URL;
import java.util.Locale;

import org.json.JSONException;
import org.json.JSONObject;

/**
 * The server's published release ({@code GET /api/v1/android/release}: version_code, version_name,
 * size, sha256, min_version_code, url) and what it means for this app (pure Java + org.json).
 */
public final class UpdateRelease {
    public static final String UP_TO_DATE = "up_to_date";
    public static final String AVAILABLE = "available";
    public static final String DOWNLOADING = "downloading";
    public static final String READY = "ready";
    public static final String BLOCKED = "blocked";
    public static final String FAILED = "failed";

    public final int versionCode;
    public final String versionName;
    public final long size;
    public final String sha256;
    public final int minVersionCode;
    /** Absolute download address (a relative url is resolved against the server). */
    public final String url;

    UpdateRelease(int versionCode, String versionName, long size, String sha256, int minVersionCode, String url) {
        this.versionCode = versionCode;
        this.versionName = versionName;
        this.size = size;
        this.sha256 = sha256;
        this.minVersionCode = minVersionCode;
        this.url = url;
    }

    /**
     * Reads and checks the server's answer; throws IllegalArgumentException (English, for the log) when a
     * field is missing or out of range. The download must come from https, or from the server's own
     * origin (a debug build's http LAN server).
     */
    public static UpdateRelease parse(String body, String serverBase) {
        try {
            JSONObject o = new JSONObject(body);
            int code = o.getInt("version_code");
            long size = o.getLong("size");
            String sha = o.getString("sha256").toLowerCase(Locale.ROOT);
            int min = o.optInt("min_version_code", 0);
            String name = o.optString("version_name", String.valueOf(code));
            if (code < 1) {
                throw new IllegalArgumentException("version_code must be positive");
            }
            if (size < 1 || size > 200L * 1024 * 1024) {
                throw new IllegalArgumentException("size out of range: " + size);
            }
            if (!sha.matches("[0-9a-f]{64}")) {
                throw new IllegalArgumentException("sha256 is not 64 hex digits");
            }
            URL base = new URL(serverBase);
            URL u = new URL(base, o.getString("url"));
            boolean sameOrigin = u.getProtocol().equals(base.getProtocol())
                    && u.getHost().equalsIgnoreCase(base.getHost()) && port(u) == port(base);
            if (!"https".equals(u.getProtocol()) && !sameOrigin) {
                throw new IllegalArgumentException("download url must be https or on the server: " + u);
            }
            return new UpdateRelease(code, name, size, sha, min, u.toString());
        } catch (JSONException e) {
            throw new IllegalArgumentException("release is not the expected JSON: " + e.getMessage());
        } catch (MalformedURLException e) {
            throw new IllegalArgumentException("bad url: " + e.getMessage());
        }
    }

    private static int port(URL u) {
        return u.getPort() == -1 ? u.getDefaultPort() : u.getPort();
    }

    /** The state before any download: blocked below the minimum, available when higher, else up to date. */
    public static String state(int ownVersionCode, UpdateRelease r) {
        if (r == null) {
            return UP_TO_DATE;
        }
        if (ownVersionCode < r.minVersionCode) {
            return BLOCKED;
        }
        return r.versionCode > ownVersionCode ? AVAILABLE : UP_TO_DATE;
    }

    /** Whether a download is worth starting (a higher version exists, blocked or not). */
    public boolean newerThan(int ownVersionCode) {
        return versionCode > ownVersionCode;
    }
}
