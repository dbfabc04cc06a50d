package com.daidaitong.officer;

import java.util.List;

import org.json.JSONArray;
import org.json.JSONException;
import org.json.JSONObject;

/** The trail's replies and events as PROTOCOL.md writes them (pure Java + org.json). */
public final class TrailJson {
    private TrailJson() {
    }

    /** trail.take's result: {"points":[{uuid, at, lat, lon, accuracy_m, provider, is_mock}, …]}. */
    public static JSONObject points(List<TrailPoint> points) {
        try {
            JSONArray a = new JSONArray();
            for (TrailPoint p : points) {
                JSONObject o = new JSONObject();
                o.put("uuid", p.uuid);
                o.put("at", p.atIso());
                o.put("lat", p.lat);
                o.put("lon", p.lon);
                o.put("accuracy_m", p.accuracyM);
                o.put("provider", p.provider);
                o.put("is_mock", p.isMock);
                a.put(o);
            }
            return new JSONObject().put("points", a);
        } catch (JSONException e) { // only for NaN/infinite coordinates, which a fix never has
            throw new IllegalArgumentException("point not representable in JSON: " + e.getMessage());
        }
    }

    /** trail.start's result. */
    public static JSONObject started(TrailSchedule s) {
        try {
            return new JSONObject().put("running", true).put("interval_min", s.intervalMin).put("hours", s.hours);
        } catch (JSONException e) {
            throw new IllegalStateException(e);
        }
    }

    /** trail.stop's result and the trail_points event's data. */
    public static JSONObject stopped() {
        try {
            return new JSONObject().put("running", false);
        } catch (JSONException e) {
            throw new IllegalStateException(e);
        }
    }

    public static JSONObject waiting(int n) {
        try {
            return new JSONObject().put("waiting", n);
        } catch (JSONException e) {
            throw new IllegalStateException(e);
        }
    }

    public static JSONObject removed(int n) {
        try {
            return new JSONObject().put("removed", n);
        } catch (JSONException e) {
            throw new IllegalStateException(e);
        }
    }
}
