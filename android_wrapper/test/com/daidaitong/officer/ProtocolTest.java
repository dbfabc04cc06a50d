package com.daidaitong.officer;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.fail;

import java.io.File;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import org.json.JSONObject;
import org.junit.Test;

/** Protocol.parse at and around every limit PROTOCOL.md sets, and what it does with garbage. */
public class ProtocolTest {
    static Protocol.ProtocolError refused(String text) {
        try {
            Protocol.Request r = Protocol.parse(text);
            fail("accepted: " + text + " as " + r.type);
            return null;
        } catch (Protocol.ProtocolError e) {
            return e;
        }
    }

    static void refusedWith(String code, String text) {
        assertEquals(text, code, refused(text).code);
    }

    static Protocol.Request ok(String text) throws Protocol.ProtocolError {
        return Protocol.parse(text);
    }

    @Test
    public void sizeIsCountedInUtf8BytesUpTo64KiB() throws Exception {
        String head = "{\"v\":1,\"id\":\"a\",\"type\":\"network\",\"args\":{\"pad\":\"";
        String tail = "\"}}";
        StringBuilder pad = new StringBuilder();
        while (head.length() + pad.length() + tail.length() < Protocol.MAX_BYTES) pad.append('x');
        ok(head + pad + tail); // exactly 64 KiB
        refusedWith(Protocol.BAD_MESSAGE, head + pad + "x" + tail);
        // 3 bytes per character in UTF-8: far fewer characters than 64 Ki are already too many bytes.
        StringBuilder cjk = new StringBuilder();
        for (int i = 0; i < 22000; i++) cjk.append('贷');
        Protocol.ProtocolError e = refused(head + cjk + tail);
        assertEquals(Protocol.BAD_MESSAGE, e.code);
        assertNull(e.id);
    }

    @Test
    public void onlyOneJsonObjectIsAMessage() {
        refusedWith(Protocol.BAD_MESSAGE, "");
        refusedWith(Protocol.BAD_MESSAGE, "null");
        refusedWith(Protocol.BAD_MESSAGE, "\"identity\"");
        refusedWith(Protocol.BAD_MESSAGE, "{\"v\":1,\"id\":\"a\",\"type\":\"identity\"} {}");
        refusedWith(Protocol.BAD_MESSAGE, "{\"v\":1,\"id\":\"a\",\"type\":\"identity\"");
        assertEquals(Protocol.BAD_MESSAGE, refused(null).code);
    }

    @Test
    public void idIsReadFirstAndEchoedInLaterErrors() {
        assertNull(refused("{\"v\":1,\"id\":\"a b\",\"type\":\"identity\"}").id);
        assertNull(refused("{\"v\":1,\"id\":7,\"type\":\"identity\"}").id);
        assertNull(refused("{\"v\":1,\"id\":\"\",\"type\":\"identity\"}").id);
        assertNull(refused("{\"v\":2,\"id\":\"<script>\",\"type\":\"identity\"}").id);
        Protocol.ProtocolError e = refused("{\"v\":2,\"id\":\"q:1.x_y-z\",\"type\":\"identity\"}");
        assertEquals(Protocol.UNSUPPORTED_VERSION, e.code);
        assertEquals("q:1.x_y-z", e.id);
        assertEquals("q9", refused("{\"v\":1,\"id\":\"q9\",\"type\":\"camera.zoom\"}").id);
    }

    @Test
    public void idOf64CharactersIsTheLongest() throws Exception {
        char[] id = new char[64];
        Arrays.fill(id, 'a');
        assertEquals(new String(id), ok("{\"v\":1,\"id\":\"" + new String(id) + "\",\"type\":\"identity\"}").id);
        refusedWith(Protocol.BAD_MESSAGE, "{\"v\":1,\"id\":\"" + new String(id) + "b\",\"type\":\"identity\"}");
    }

    @Test
    public void versionMustBeTheInteger1() {
        for (String v : new String[] {"0", "2", "1.5", "\"1\"", "true", "null", "[1]"}) {
            refusedWith(Protocol.UNSUPPORTED_VERSION, "{\"v\":" + v + ",\"id\":\"a\",\"type\":\"identity\"}");
        }
        refusedWith(Protocol.UNSUPPORTED_VERSION, "{\"id\":\"a\",\"type\":\"identity\"}");
    }

    @Test
    public void typeAndArgsShapes() throws Exception {
        refusedWith(Protocol.BAD_MESSAGE, "{\"v\":1,\"id\":\"a\"}");
        refusedWith(Protocol.BAD_MESSAGE, "{\"v\":1,\"id\":\"a\",\"type\":5}");
        refusedWith(Protocol.UNKNOWN_TYPE, "{\"v\":1,\"id\":\"a\",\"type\":\"hello\"}");
        refusedWith(Protocol.UNKNOWN_TYPE, "{\"v\":1,\"id\":\"a\",\"type\":\"IDENTITY\"}");
        refusedWith(Protocol.BAD_MESSAGE, "{\"v\":1,\"id\":\"a\",\"type\":\"identity\",\"args\":null}");
        refusedWith(Protocol.BAD_MESSAGE, "{\"v\":1,\"id\":\"a\",\"type\":\"identity\",\"args\":\"x\"}");
        assertEquals(0, ok("{\"v\":1,\"id\":\"a\",\"type\":\"identity\",\"args\":{\"extra\":1}}").args.length());
    }

    @Test
    public void locationArgumentsHaveTheirRangesAndDefaults() throws Exception {
        JSONObject d = ok("{\"v\":1,\"id\":\"a\",\"type\":\"location\"}").args;
        assertEquals(30000, d.getInt("timeout_ms"));
        assertEquals(0, d.getInt("max_age_ms"));
        assertEquals(1000, ok(loc("\"timeout_ms\":1000")).args.getInt("timeout_ms"));
        assertEquals(120000, ok(loc("\"timeout_ms\":120000")).args.getInt("timeout_ms"));
        assertEquals(600000, ok(loc("\"max_age_ms\":600000")).args.getInt("max_age_ms"));
        for (String bad : new String[] {"\"timeout_ms\":999", "\"timeout_ms\":120001", "\"timeout_ms\":\"30000\"",
            "\"timeout_ms\":30000.5", "\"max_age_ms\":-1", "\"max_age_ms\":600001", "\"timeout_ms\":99999999999999"}) {
            refusedWith(Protocol.BAD_ARGS, loc(bad));
        }
    }

    private static String loc(String args) {
        return "{\"v\":1,\"id\":\"a\",\"type\":\"location\",\"args\":{" + args + "}}";
    }

    @Test
    public void trailArguments() throws Exception {
        JSONObject a = ok(trail("\"interval_min\":120,\"hours\":\"19:00-07:00\"")).args;
        assertEquals(120, a.getInt("interval_min"));
        assertEquals("19:00-07:00", a.getString("hours"));
        ok(trail("\"interval_min\":1,\"hours\":\"00:00-23:59\""));
        for (String bad : new String[] {"\"interval_min\":121,\"hours\":\"07:00-19:00\"", "\"hours\":\"07:00-19:00\"",
            "\"interval_min\":5", "\"interval_min\":5,\"hours\":\"24:00-19:00\"", "\"interval_min\":5,\"hours\":\"07:60-19:00\"",
            "\"interval_min\":5,\"hours\":\"07:00 - 19:00\"", "\"interval_min\":5,\"hours\":7"}) {
            refusedWith(Protocol.BAD_ARGS, trail(bad));
        }
        assertEquals(500, ok("{\"v\":1,\"id\":\"a\",\"type\":\"trail.take\"}").args.getInt("max"));
        assertEquals(1000, ok("{\"v\":1,\"id\":\"a\",\"type\":\"trail.take\",\"args\":{\"max\":1000}}").args.getInt("max"));
        refusedWith(Protocol.BAD_ARGS, "{\"v\":1,\"id\":\"a\",\"type\":\"trail.take\",\"args\":{\"max\":0}}");
        refusedWith(Protocol.BAD_ARGS, "{\"v\":1,\"id\":\"a\",\"type\":\"trail.take\",\"args\":{\"max\":1001}}");
    }

    private static String trail(String args) {
        return "{\"v\":1,\"id\":\"a\",\"type\":\"trail.start\",\"args\":{" + args + "}}";
    }

    @Test
    public void ackTakesOneToAThousandUuidsLowerCased() throws Exception {
        String u = "0D7E6F1A-1B2C-4D3E-8F40-5A6B7C8D9E01";
        assertEquals(u.toLowerCase(), ok(ack("[\"" + u + "\"]")).args.getJSONArray("uuids").getString(0));
        refusedWith(Protocol.BAD_ARGS, ack("[]"));
        refusedWith(Protocol.BAD_ARGS, ack("\"" + u + "\""));
        refusedWith(Protocol.BAD_ARGS, ack("[\"" + u + "\", 5]"));
        refusedWith(Protocol.BAD_ARGS, ack("[\"" + u + "x\"]"));
        refusedWith(Protocol.BAD_ARGS, "{\"v\":1,\"id\":\"a\",\"type\":\"trail.ack\"}");
        StringBuilder many = new StringBuilder("[");
        for (int i = 0; i < 1001; i++) many.append(i == 0 ? "" : ",").append('"').append(u).append('"');
        refusedWith(Protocol.BAD_ARGS, ack(many + "]"));
        assertEquals(1000, ok(ack(many.substring(0, many.length() - u.length() - 3) + "]")).args.getJSONArray("uuids").length());
    }

    private static String ack(String uuids) {
        return "{\"v\":1,\"id\":\"a\",\"type\":\"trail.ack\",\"args\":{\"uuids\":" + uuids + "}}";
    }

    @Test
    public void syncDoneNeedsABoolean() throws Exception {
        assertEquals(false, ok("{\"v\":1,\"id\":\"a\",\"type\":\"sync.done\",\"args\":{\"ok\":false}}").args.getBoolean("ok"));
        refusedWith(Protocol.BAD_ARGS, "{\"v\":1,\"id\":\"a\",\"type\":\"sync.done\"}");
        refusedWith(Protocol.BAD_ARGS, "{\"v\":1,\"id\":\"a\",\"type\":\"sync.done\",\"args\":{\"ok\":\"yes\"}}");
    }

    @Test
    public void errorReplyWithoutIdSaysNull() throws Exception {
        JSONObject o = new JSONObject(Protocol.error(null, Protocol.BAD_MESSAGE, "not JSON"));
        assertEquals(JSONObject.NULL, o.get("id"));
        assertEquals("{\"v\":1,\"id\":null,\"ok\":false,\"error\":{\"code\":\"bad_message\",\"message\":\"not JSON\"}}",
            Protocol.error(null, Protocol.BAD_MESSAGE, "not JSON"));
    }

    @Test
    public void isoUtcIsToTheSecondInUtc() {
        assertEquals("2026-12-01T02:30:00Z", Protocol.isoUtc(1796092200999L));
        assertEquals("1970-01-01T00:00:00Z", Protocol.isoUtc(0));
    }

    /** Mangled versions of every example (bytes flipped, cut short, doubled) are refused or read; nothing else escapes. */
    @Test
    public void garbageNeverEscapesAsAnythingButAProtocolError() throws Exception {
        long seed = Long.getLong("fuzz.seed", System.nanoTime());
        System.out.println("ProtocolTest fuzz seed: " + seed + " (rerun with -Dfuzz.seed=" + seed + ")");
        Random rnd = new Random(seed);
        List<File> all = ProtocolExamplesTest.files("examples", "");
        all.addAll(ProtocolExamplesTest.files("invalid", ""));
        String alphabet = "{}[]\":,\\0123456789.eE+-truefalsnl \u0000\u2028\ud800贷";
        for (int round = 0; round < 4000; round++) {
            String base = ProtocolExamplesTest.read(all.get(rnd.nextInt(all.size())));
            StringBuilder s = new StringBuilder(base);
            int edits = 1 + rnd.nextInt(4);
            for (int k = 0; k < edits && s.length() > 0; k++) {
                int at = rnd.nextInt(s.length());
                switch (rnd.nextInt(4)) {
                    case 0:
                        s.setCharAt(at, alphabet.charAt(rnd.nextInt(alphabet.length())));
                        break;
                    case 1:
                        s.setLength(at);
                        break;
                    case 2:
                        s.insert(at, alphabet.charAt(rnd.nextInt(alphabet.length())));
                        break;
                    default:
                        s.insert(at, s.substring(at));
                }
            }
            try {
                Protocol.Request r = Protocol.parse(s.toString());
                // Whatever passed is a well-formed request of a known type.
                assertEquals(true, Protocol.isKnownType(r.type));
            } catch (Protocol.ProtocolError e) {
                assertEquals(true, Arrays.asList(Protocol.BAD_MESSAGE, Protocol.UNSUPPORTED_VERSION,
                    Protocol.UNKNOWN_TYPE, Protocol.BAD_ARGS).contains(e.code));
                new JSONObject(Protocol.error(e)); // and its reply is JSON
            }
        }
    }
}
