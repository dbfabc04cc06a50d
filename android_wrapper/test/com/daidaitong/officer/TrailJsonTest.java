package com.daidaitong.officer;

import static org.junit.Assert.assertEquals;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.TreeSet;

import org.json.JSONArray;
import org.json.JSONException;
import org.json.JSONObject;
import org.junit.Test;

/** The trail's results have exactly the shape of PROTOCOL.md's example messages. */
public class TrailJsonTest {
    private static JSONObject example(String name) throws IOException, JSONException {
        String dir = System.getProperty("protocol.dir", "protocol");
        return new JSONObject(new String(Files.readAllBytes(new File(dir, "examples/" + name).toPath()), "UTF-8"));
    }

    private static TreeSet<String> keys(JSONObject o) {
        TreeSet<String> s = new TreeSet<String>();
        Iterator<String> it = o.keys();
        while (it.hasNext()) {
            s.add(it.next());
        }
        return s;
    }

    @Test
    public void takeResultMatchesTheExampleFieldForField() throws Exception {
        JSONArray want = example("reply-trail-take.json").getJSONObject("result").getJSONArray("points");
        List<TrailPoint> points = new ArrayList<TrailPoint>();
        for (int i = 0; i < want.length(); i++) {
            JSONObject w = want.getJSONObject(i);
            java.text.SimpleDateFormat f = new java.text.SimpleDateFormat("yyyy-MM-dd'T'HH:mm:ss'Z'", java.util.Locale.US);
            f.setTimeZone(java.util.TimeZone.getTimeZone("UTC"));
            points.add(new TrailPoint(w.getString("uuid"), f.parse(w.getString("at")).getTime(), w.getDouble("lat"),
                    w.getDouble("lon"), w.getInt("accuracy_m"), w.getString("provider"), w.getBoolean("is_mock")));
        }
        JSONArray got = TrailJson.points(points).getJSONArray("points");
        assertEquals(want.length(), got.length());
        for (int i = 0; i < want.length(); i++) {
            JSONObject w = want.getJSONObject(i);
            JSONObject g = got.getJSONObject(i);
            assertEquals(keys(w), keys(g));
            for (String k : keys(w)) {
                assertEquals(k, String.valueOf(w.get(k)), String.valueOf(g.get(k)));
            }
        }
    }

    @Test
    public void startStopAckAndEventMatchTheExamples() throws Exception {
        JSONObject start = example("reply-trail-start.json").getJSONObject("result");
        JSONObject mine = TrailJson.started(TrailSchedule.parse(start.getInt("interval_min"), start.getString("hours")));
        assertEquals(start.toString(), mine.toString());
        assertEquals(keys(example("reply-trail-stop.json").getJSONObject("result")), keys(TrailJson.stopped()));
        assertEquals(keys(example("reply-trail-ack.json").getJSONObject("result")), keys(TrailJson.removed(3)));
        assertEquals(example("event-trail-points.json").getJSONObject("data").toString(),
                TrailJson.waiting(3).toString());
        assertEquals(Arrays.asList("points"), new ArrayList<String>(keys(TrailJson.points(new ArrayList<TrailPoint>()))));
    }
}
