package com.daidaitong.officer;

import java.util.Locale;

/** Small decisions of the WebView shell, kept apart from android.* so that they are tested on the JVM. */
public final class WebPolicy {
    private WebPolicy() {}

    /**
     * Whether a file input opens the camera directly: it asks for capture and accepts images (or
     * says nothing about what it accepts). accept values may be MIME types, wildcards or extensions,
     * one or several per entry, comma-separated.
     */
    public static boolean opensCamera(boolean capture, String[] acceptTypes) {
        if (!capture) return false;
        if (acceptTypes == null) return true;
        boolean any = false;
        for (String entry : acceptTypes) {
            if (entry == null) continue;
            for (String one : entry.split(",")) {
                String t = one.trim().toLowerCase(Locale.ROOT);
                if (t.isEmpty()) continue;
                any = true;
                if (t.startsWith("image/") || t.equals(".jpg") || t.equals(".jpeg") || t.equals(".png")) return true;
            }
        }
        return !any;
    }

    /**
     * Whether a link off the server's origin may be handed to another app (ACTION_VIEW): web pages,
     * phone numbers, mail and SMS. Never intent:, javascript:, file:, content:, data: or app schemes.
     */
    public static boolean mayOpenOutside(String url) {
        if (url == null) return false;
        String u = url.trim();
        int colon = u.indexOf(':');
        if (colon <= 0) return false;
        String scheme = u.substring(0, colon).toLowerCase(Locale.ROOT);
        if (scheme.equals("http") || scheme.equals("https")) return OriginPolicy.originOf(u) != null;
        return scheme.equals("tel") || scheme.equals("mailto") || scheme.equals("sms");
    }
}
