package com.daidaitong.officer;

import java.net.IDN;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;

/**
 * The server's origin: which URL the officer may set at first start (https; http only in debug
 * builds and only for this machine, the emulator's host and private LAN addresses), and whether a
 * URL is on that origin (navigation stays in the WebView, messages are answered). Pure Java.
 */
public final class OriginPolicy {
    /** A normalised origin: scheme://host[:port], lower case, no default port, no path. */
    public static final class Origin {
        public final String scheme;
        public final String host;
        public final int port;

        Origin(String scheme, String host, int port) {
            this.scheme = scheme;
            this.host = host;
            this.port = port;
        }

        @Override
        public String toString() {
            boolean defaultPort = port == -1 || ("https".equals(scheme) && port == 443) || ("http".equals(scheme) && port == 80);
            String h = host.indexOf(':') >= 0 ? "[" + host + "]" : host;
            return scheme + "://" + h + (defaultPort ? "" : ":" + port);
        }

        int effectivePort() {
            if (port != -1) return port;
            return "https".equals(scheme) ? 443 : 80;
        }

        @Override
        public boolean equals(Object o) {
            if (!(o instanceof Origin)) return false;
            Origin other = (Origin) o;
            return scheme.equals(other.scheme) && host.equals(other.host) && effectivePort() == other.effectivePort();
        }

        @Override
        public int hashCode() {
            return toString().hashCode();
        }
    }

    /** Why a server URL was refused (message in English, for the log; the screen shows its own words). */
    public static final class Refused extends Exception {
        public final String reason;

        public Refused(String reason, String message) {
            super(message);
            this.reason = reason;
        }
    }

    private final Origin server;

    public OriginPolicy(Origin server) {
        if (server == null) throw new IllegalArgumentException("server origin required");
        this.server = server;
    }

    public Origin server() {
        return server;
    }

    /** The page the WebView opens: the server's /m/. */
    public String startUrl() {
        return server + "/m/";
    }

    /** True when url (absolute) is on the server's origin: navigation stays, messages are answered. */
    public boolean sameOrigin(String url) {
        Origin o = originOf(url);
        return o != null && o.equals(server);
    }

    /**
     * Parses what the officer typed (or the setup link carried) into the server's origin.
     * A bare host name is taken as https://host. Path, query and fragment are dropped.
     */
    public static Origin parseServer(String text, boolean debugBuild) throws Refused {
        if (text == null || text.trim().isEmpty()) throw new Refused("empty", "no server address");
        String t = text.trim();
        if (t.length() > 2048) throw new Refused("malformed", "address too long");
        if (!t.contains("://")) t = "https://" + t;
        URI uri;
        try {
            uri = new URI(t);
        } catch (URISyntaxException e) {
            throw new Refused("malformed", "not a URL");
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (uri.getRawUserInfo() != null || (uri.getRawAuthority() != null && uri.getRawAuthority().contains("@"))) {
            throw new Refused("malformed", "user name in the address");
        }
        Object[] hp = hostPort(uri);
        if (hp == null) throw new Refused("malformed", "no host name");
        String host = (String) hp[0];
        int port = (Integer) hp[1];
        if (port == 0 || port > 65535) throw new Refused("malformed", "bad port");
        if ("https".equals(scheme)) return new Origin("https", host, port == 443 ? -1 : port);
        if ("http".equals(scheme)) {
            if (!debugBuild) throw new Refused("not_https", "only https:// servers are allowed");
            if (!isLocalOrLan(host)) throw new Refused("not_https", "http:// only for 127.0.0.1, localhost, 10.0.2.2 and LAN addresses");
            return new Origin("http", host, port == 80 ? -1 : port);
        }
        throw new Refused("not_https", "only https:// servers are allowed");
    }

    /** The origin of an absolute http(s) URL, or null (other schemes, malformed). */
    public static Origin originOf(String url) {
        if (url == null) return null;
        URI uri;
        try {
            uri = new URI(url.trim());
        } catch (URISyntaxException e) {
            return null;
        }
        String scheme = uri.getScheme() == null ? null : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!"https".equals(scheme) && !"http".equals(scheme)) return null;
        if (uri.getRawUserInfo() != null || (uri.getRawAuthority() != null && uri.getRawAuthority().contains("@"))) return null;
        Object[] hp = hostPort(uri);
        if (hp == null) return null;
        return new Origin(scheme, (String) hp[0], (Integer) hp[1]);
    }

    /**
     * {normalised host, port or -1}, or null. java.net.URI leaves the host null for names it does not
     * take as a server authority (non-ASCII names, a last label starting with a digit): those are read
     * from the authority by hand, then put through IDN like any other.
     */
    private static Object[] hostPort(URI uri) {
        String host = uri.getHost();
        int port = uri.getPort();
        if (host == null) {
            String auth = uri.getAuthority();
            if (auth == null || auth.isEmpty() || auth.contains("@") || auth.startsWith("[")) return null;
            int colon = auth.lastIndexOf(':');
            if (colon >= 0) {
                String p = auth.substring(colon + 1);
                if (p.isEmpty() || p.length() > 5) return null;
                for (int i = 0; i < p.length(); i++) {
                    if (p.charAt(i) < '0' || p.charAt(i) > '9') return null;
                }
                port = Integer.parseInt(p);
                auth = auth.substring(0, colon);
            }
            host = auth;
        }
        if (host.isEmpty()) return null;
        host = normaliseHost(host);
        if (host == null) return null;
        for (int i = 0; i < host.length(); i++) {
            char c = host.charAt(i);
            boolean ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == ':';
            if (!ok) return null;
        }
        return new Object[] {host, port};
    }

    private static String normaliseHost(String host) {
        String h = host;
        if (h.startsWith("[") && h.endsWith("]")) h = h.substring(1, h.length() - 1);
        if (h.endsWith(".")) h = h.substring(0, h.length() - 1);
        try {
            h = IDN.toASCII(h, IDN.ALLOW_UNASSIGNED);
        } catch (IllegalArgumentException e) {
            return null;
        }
        h = h.toLowerCase(Locale.ROOT);
        return h.isEmpty() ? null : h;
    }

    /** 127.0.0.1 (127/8), localhost, the emulator's 10.0.2.2, and private LAN ranges 10/8, 172.16/12, 192.168/16. */
    public static boolean isLocalOrLan(String host) {
        if ("localhost".equals(host)) return true;
        int[] ip = ipv4(host);
        if (ip == null) return false;
        if (ip[0] == 127) return true;
        if (ip[0] == 10) return true;
        if (ip[0] == 172 && ip[1] >= 16 && ip[1] <= 31) return true;
        return ip[0] == 192 && ip[1] == 168;
    }

    /** Dotted-quad IPv4 in its plain form only (no octal, no short forms), else null. */
    static int[] ipv4(String host) {
        String[] parts = host.split("\\.", -1);
        if (parts.length != 4) return null;
        int[] out = new int[4];
        for (int i = 0; i < 4; i++) {
            String p = parts[i];
            if (p.isEmpty() || p.length() > 3) return null;
            for (int k = 0; k < p.length(); k++) {
                if (p.charAt(k) < '0' || p.charAt(k) > '9') return null;
            }
            if (p.length() > 1 && p.charAt(0) == '0') return null;
            out[i] = Integer.parseInt(p);
            if (out[i] > 255) return null;
        }
        return out;
    }

    /** The server parameter of a setup link daidaitong-officer://setup?server=<url-encoded URL>, or null. */
    public static String setupLinkServer(String link) {
        if (link == null) return null;
        URI uri;
        try {
            uri = new URI(link.trim());
        } catch (URISyntaxException e) {
            return null;
        }
        if (!"daidaitong-officer".equalsIgnoreCase(uri.getScheme()) || !"setup".equalsIgnoreCase(uri.getHost())) return null;
        String q = uri.getRawQuery();
        if (q == null) return null;
        for (String pair : q.split("&")) {
            int eq = pair.indexOf('=');
            if (eq > 0 && "server".equals(pair.substring(0, eq))) {
                try {
                    return java.net.URLDecoder.decode(pair.substring(eq + 1), "UTF-8");
                } catch (java.io.UnsupportedEncodingException | IllegalArgumentException e) {
                    return null;
                }
            }
        }
        return null;
    }
}
