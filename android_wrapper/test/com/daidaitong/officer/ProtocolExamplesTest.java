package com.daidaitong.officer;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

import org.json.JSONObject;
import org.junit.Test;

/**
 * Every file of android_wrapper/protocol/: the valid examples (requests parse; replies, events and
 * the hello are exactly what the app's builders write for the same values) and the invalid ones
 * (each refused with the code protocol/invalid-codes.json names). The folder comes from the
 * system property protocol.dir, which scripts/android-test.sh sets.
 */
public class ProtocolExamplesTest {
    static File protocolDir() {
        String dir = System.getProperty("protocol.dir");
        assertNotNull("system property protocol.dir (set by scripts/android-test.sh) is missing", dir);
        File f = new File(dir);
        assertTrue("no protocol folder at " + f.getAbsolutePath(), new File(f, "examples").isDirectory());
        return f;
    }

    static String read(File f) throws IOException {
        return new String(Files.readAllBytes(f.toPath()), StandardCharsets.UTF_8).trim();
    }

    static List<File> files(String sub, String prefix) {
        File[] all = new File(protocolDir(), sub).listFiles();
        assertNotNull(all);
        List<File> out = new ArrayList<File>();
        for (File f : all) {
            if (f.isFile() && f.getName().startsWith(prefix)) out.add(f);
        }
        java.util.Collections.sort(out);
        return out;
    }

    @Test
    public void everyExampleFileIsARequestReplyEventOrTheHello() {
        for (File f : files("examples", "")) {
            String n = f.getName();
            assertTrue("unexpected example " + n + " (request-, reply-, event- or hello)",
                n.startsWith("request-") || n.startsWith("reply-") || n.startsWith("event-") || n.equals("hello.json"));
        }
    }

    @Test
    public void everyExampleRequestParsesAsItsType() throws Exception {
        Set<String> seen = new HashSet<String>();
        for (File f : files("examples", "request-")) {
            String expectedType = f.getName().substring("request-".length()).replace(".json", "").replaceFirst("-", ".");
            Protocol.Request r;
            try {
                r = Protocol.parse(read(f));
            } catch (Protocol.ProtocolError e) {
                throw new AssertionError(f.getName() + " refused: " + e.code + " " + e.getMessage());
            }
            assertEquals(f.getName(), expectedType, r.type);
            seen.add(r.type);
        }
        for (String t : Protocol.TYPES) {
            assertTrue("no example request of type " + t, seen.contains(t));
        }
    }

    @Test
    public void everyInvalidFileIsRefusedWithItsCode() throws Exception {
        JSONObject codes = new JSONObject(read(new File(protocolDir(), "invalid-codes.json")));
        List<File> invalid = files("invalid", "");
        assertTrue(invalid.size() >= 10);
        Set<String> names = new HashSet<String>();
        for (File f : invalid) {
            names.add(f.getName());
            String code = codes.optString(f.getName(), null);
            assertNotNull(f.getName() + " has no expected code in protocol/invalid-codes.json", code);
            try {
                Protocol.parse(read(f));
                fail(f.getName() + " was accepted");
            } catch (Protocol.ProtocolError e) {
                assertEquals(f.getName() + " (" + e.getMessage() + ")", code, e.code);
                // The error reply itself is well formed.
                JSONObject reply = new JSONObject(Protocol.error(e));
                assertEquals(1, reply.getInt("v"));
                assertFalse(reply.getBoolean("ok"));
                assertEquals(code, reply.getJSONObject("error").getString("code"));
                assertTrue(reply.has("id"));
            }
        }
        Iterator<String> keys = codes.keys();
        while (keys.hasNext()) {
            String k = keys.next();
            assertTrue("invalid-codes.json names a missing file " + k, names.contains(k));
        }
    }

    /** Each reply file, rebuilt from its own id and result (or error) by the app's builders, is the same text. */
    @Test
    public void everyExampleReplyIsWhatTheBuildersWrite() throws Exception {
        Set<String> codes = new HashSet<String>(Arrays.asList(Protocol.BAD_MESSAGE, Protocol.UNSUPPORTED_VERSION,
            Protocol.UNKNOWN_TYPE, Protocol.BAD_ARGS, Protocol.PERMISSION_DENIED, Protocol.UNAVAILABLE,
            Protocol.TIMEOUT, Protocol.INTERNAL));
        List<File> replies = files("examples", "reply-");
        assertTrue(replies.size() >= 10);
        for (File f : replies) {
            String text = read(f);
            JSONObject o = new JSONObject(text);
            assertEquals(f.getName(), 1, o.getInt("v"));
            Object id = o.get("id");
            String rebuilt;
            if (o.getBoolean("ok")) {
                assertTrue(f.getName(), id instanceof String);
                assertFalse(f.getName(), o.has("error"));
                rebuilt = Protocol.ok((String) id, o.getJSONObject("result"));
            } else {
                assertFalse(f.getName(), o.has("result"));
                JSONObject e = o.getJSONObject("error");
                assertTrue(f.getName() + ": unknown error code " + e.getString("code"), codes.contains(e.getString("code")));
                rebuilt = Protocol.error(id == JSONObject.NULL ? null : (String) id, e.getString("code"), e.getString("message"));
            }
            assertEquals(f.getName(), text, rebuilt);
        }
    }

    @Test
    public void everyExampleEventIsWhatTheBuilderWrites() throws Exception {
        Set<String> events = new HashSet<String>(Arrays.asList("network_changed", "sim_changed", "trail_points", "sync_wake"));
        for (File f : files("examples", "event-")) {
            String text = read(f);
            JSONObject o = new JSONObject(text);
            assertTrue(f.getName(), events.contains(o.getString("event")));
            assertEquals(f.getName(), text, Protocol.event(o.getString("event"), o.getJSONObject("data")));
        }
    }

    @Test
    public void helloIsWhatTheAppSends() throws Exception {
        assertEquals(read(new File(protocolDir(), "examples/hello.json")), Protocol.hello("com.daidaitong.officer", 1, "1.0.0"));
    }

    // ---- The results the handlers build from what Android reads, for the examples' values ----

    private static String example(String name) throws IOException {
        return read(new File(protocolDir(), "examples/" + name));
    }

    private static final String INSTALLATION = "5b0f3c1e-8a52-4d9e-9a0c-2f1d7e6b4a10";

    @Test
    public void identityWithEverythingReadable() throws Exception {
        Results.SimReading r = new Results.SimReading();
        r.present = true;
        r.state = "ready";
        r.operator = "46000";
        r.operatorName = "中国移动";
        r.imsi = "460001234567890";
        r.serial = "89860012345678901234";
        r.lineNumber = "13800138000";
        r.subscriptionId = 1;
        assertEquals(example("reply-identity-full.json"), Protocol.ok("q1", Results.identity(INSTALLATION, r, false, 28, "Redmi 8A")));
    }

    @Test
    public void identityOfAnotherSim() throws Exception {
        Results.SimReading r = new Results.SimReading();
        r.present = true;
        r.state = "ready";
        r.operator = "46001";
        r.operatorName = "中国联通";
        r.imsi = "460019876543210";
        r.serial = "89860198765432109876";
        r.lineNumber = "13100131000";
        r.subscriptionId = 2;
        assertEquals(example("reply-identity-other-sim.json"), Protocol.ok("q1", Results.identity(INSTALLATION, r, true, 28, "Redmi 8A")));
    }

    @Test
    public void identityWithoutSimListsEveryMissingFieldAsSimAbsent() throws Exception {
        Results.SimReading r = new Results.SimReading();
        r.present = false;
        r.state = "absent";
        assertEquals(example("reply-identity-no-sim.json"), Protocol.ok("q1", Results.identity(INSTALLATION, r, true, 28, "Redmi 8A")));
        assertEquals(example("event-sim-changed.json"), Protocol.event("sim_changed", Results.identity(INSTALLATION, r, true, 28, "Redmi 8A")));
    }

    @Test
    public void identityOnNewerAndroidSaysWhatItRefused() throws Exception {
        Results.SimReading r = new Results.SimReading();
        r.present = true;
        r.state = "ready";
        r.operator = "46000";
        r.operatorName = "中国移动";
        r.subscriptionId = 3;
        r.refuse("imsi", Results.IDENTIFIERS_RESTRICTED).refuse("serial", Results.IDENTIFIERS_RESTRICTED)
            .refuse("line_number", Results.PERMISSION_DENIED);
        assertEquals(example("reply-identity-restricted.json"), Protocol.ok("q1", Results.identity(INSTALLATION, r, false, 33, "22101320C")));
    }

    @Test
    public void locationFixes() throws Exception {
        long at = 1796092200000L; // 2026-12-01T02:30:00Z
        assertEquals(example("reply-location.json"), Protocol.ok("q2", Results.location(30.6598, 104.0633, 12.4f, at, "gps", false)));
        assertEquals(example("reply-location-mock.json"), Protocol.ok("q2", Results.location(30.6598, 104.0633, 4.6f, at, "gps", true)));
        assertEquals(example("reply-location-denied.json"), Protocol.error("q2", Protocol.PERMISSION_DENIED, "location permission not granted"));
    }

    @Test
    public void networkAndVersion() throws Exception {
        assertEquals(example("reply-network-wifi.json"), Protocol.ok("q3", Results.network("wifi", false, true)));
        assertEquals(example("reply-network-cellular.json"), Protocol.ok("q3", Results.network("cellular", true, true)));
        assertEquals(example("event-network-changed.json"), Protocol.event("network_changed", Results.network("cellular", true, true)));
        assertEquals(example("reply-version.json"), Protocol.ok("q4", Results.version("com.daidaitong.officer", 1, "1.0.0",
            "3f6c0a5f2b1e4d7c8a9b0c1d2e3f405162738495a6b7c8d9e0f1a2b3c4d5e6f7")));
    }
}
