package com.daidaitong.officer;

import java.text.SimpleDateFormat;
import java.util.Date;
import java.util.Locale;
import java.util.TimeZone;

/** One stored trail sample. Immutable; the UUID is given when the store keeps it. Pure Java. */
public final class TrailPoint {
    public final String uuid;
    public final long atMillis;
    public final double lat;
    public final double lon;
    public final int accuracyM;
    public final String provider;
    public final boolean isMock;

    public TrailPoint(String uuid, long atMillis, double lat, double lon, int accuracyM,
                      String provider, boolean isMock) {
        this.uuid = uuid;
        this.atMillis = atMillis;
        this.lat = lat;
        this.lon = lon;
        this.accuracyM = accuracyM;
        this.provider = provider == null ? "" : provider;
        this.isMock = isMock;
    }

    /** A sample not stored yet (no UUID). */
    public static TrailPoint sample(long atMillis, double lat, double lon, int accuracyM,
                                    String provider, boolean isMock) {
        return new TrailPoint(null, atMillis, lat, lon, accuracyM, provider, isMock);
    }

    /** ISO 8601 in UTC to the second, e.g. 2026-12-01T01:00:00Z (java.time needs API 26). */
    public static String isoUtc(long millis) {
        SimpleDateFormat f = new SimpleDateFormat("yyyy-MM-dd'T'HH:mm:ss'Z'", Locale.US);
        f.setTimeZone(TimeZone.getTimeZone("UTC"));
        return f.format(new Date(millis));
    }

    public String atIso() {
        return isoUtc(atMillis);
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof TrailPoint)) {
            return false;
        }
        TrailPoint p = (TrailPoint) o;
        return eq(uuid, p.uuid) && atMillis == p.atMillis && Double.compare(lat, p.lat) == 0
                && Double.compare(lon, p.lon) == 0 && accuracyM == p.accuracyM
                && provider.equals(p.provider) && isMock == p.isMock;
    }

    private static boolean eq(String a, String b) {
        return a == null ? b == null : a.equals(b);
    }

    @Override
    public int hashCode() {
        return uuid == null ? (int) atMillis : uuid.hashCode();
    }

    @Override
    public String toString() {
        return "TrailPoint{" + uuid + " " + atIso() + " " + lat + "," + lon + " ±" + accuracyM
                + " " + provider + (isMock ? " mock" : "") + "}";
    }
}
