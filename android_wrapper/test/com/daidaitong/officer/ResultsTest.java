package com.daidaitong.officer;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import org.json.JSONArray;
import org.json.JSONObject;
import org.junit.Test;

/** The identity result is never silently empty, and "changed" follows the SIM, not the permissions. */
public class ResultsTest {
    static Results.SimReading sim(String imsi, String serial, Integer sub, String operator) {
        Results.SimReading r = new Results.SimReading();
        r.present = true;
        r.state = "ready";
        r.imsi = imsi;
        r.serial = serial;
        r.subscriptionId = sub;
        r.operator = operator;
        return r;
    }

    static Results.SimReading absent() {
        Results.SimReading r = new Results.SimReading();
        r.present = false;
        r.state = "absent";
        return r;
    }

    @Test
    public void everyNullIdentifierIsListedWithAReason() throws Exception {
        Results.SimReading r = sim("", null, null, "46000");
        r.lineNumber = "  ";
        r.refuse("serial", Results.PERMISSION_DENIED);
        JSONObject o = Results.identity("id", r, false, 23, "X");
        JSONArray restricted = o.getJSONArray("restricted");
        assertEquals("[{\"field\":\"imsi\",\"reason\":\"not_provided\"},{\"field\":\"serial\",\"reason\":\"permission_denied\"},"
            + "{\"field\":\"line_number\",\"reason\":\"not_provided\"},{\"field\":\"subscription_id\",\"reason\":\"not_provided\"}]",
            restricted.toString());
        JSONObject s = o.getJSONObject("sim");
        for (String f : new String[] {"imsi", "serial", "line_number", "subscription_id"}) {
            assertEquals(f, JSONObject.NULL, s.get(f)); // null, never ""
        }
    }

    @Test
    public void withoutPermissionEveryIdentifierSaysPermissionDenied() throws Exception {
        Results.SimReading r = sim(null, null, null, "46000");
        for (String f : new String[] {"imsi", "serial", "line_number", "subscription_id"}) r.refuse(f, Results.PERMISSION_DENIED);
        JSONArray restricted = Results.identity("id", r, false, 23, "X").getJSONArray("restricted");
        assertEquals(4, restricted.length());
        for (int i = 0; i < 4; i++) assertEquals("permission_denied", restricted.getJSONObject(i).getString("reason"));
    }

    @Test
    public void theFirstSimSeenIsNotAChange() {
        assertFalse(Results.simChanged(null, sim("460001", "8986001", 1, "46000")));
        assertFalse(Results.simChanged("not json", sim("460001", "8986001", 1, "46000")));
    }

    @Test
    public void anotherImsiOrSerialIsAChange() {
        String seen = Results.remember(null, sim("460001", "8986001", 1, "46000"));
        assertFalse(Results.simChanged(seen, sim("460001", "8986001", 1, "46000")));
        assertTrue(Results.simChanged(seen, sim("460002", "8986001", 1, "46000")));
        assertTrue(Results.simChanged(seen, sim(null, "8986002", 1, "46000")));
    }

    @Test
    public void removingOrInsertingTheSimIsAChange() {
        String seen = Results.remember(null, sim("460001", "8986001", 1, "46000"));
        assertTrue(Results.simChanged(seen, absent()));
        String gone = Results.remember(seen, absent());
        assertFalse(Results.simChanged(gone, absent()));
        assertTrue(Results.simChanged(gone, sim("460001", "8986001", 1, "46000")));
    }

    @Test
    public void onNewerAndroidTheSubscriptionTellsTheSimsApart() {
        String seen = Results.remember(null, sim(null, null, 3, "46000"));
        assertFalse(Results.simChanged(seen, sim(null, null, 3, "46000")));
        assertTrue(Results.simChanged(seen, sim(null, null, 4, "46000")));
        assertTrue(Results.simChanged(seen, sim(null, null, 3, "46001")));
    }

    @Test
    public void losingThePermissionIsNotAChangeOfSim() {
        String seen = Results.remember(null, sim("460001", "8986001", 1, "46000"));
        // READ_PHONE_STATE withdrawn: nothing identifies the SIM any more, so nothing says it changed.
        Results.SimReading blind = sim(null, null, null, "46000");
        assertFalse(Results.simChanged(seen, blind));
        // … and what was known is kept for when the permission comes back.
        String after = Results.remember(seen, blind);
        assertTrue(Results.simChanged(after, sim("460009", "8986009", 9, "46000")));
        assertFalse(Results.simChanged(after, sim("460001", "8986001", 1, "46000")));
    }

    @Test
    public void theRawImsiIsNeverKept() {
        String seen = Results.remember(null, sim("460001234567890", "89860012345678901234", 1, "46000"));
        assertFalse(seen.contains("460001234567890"));
        assertFalse(seen.contains("89860012345678901234"));
    }

    @Test
    public void locationAccuracyIsAWholeNumberOfMetres() throws Exception {
        JSONObject o = Results.location(1.5, 2.5, 12.5f, 0, "network", false);
        assertEquals(13, o.get("accuracy_m"));
        assertEquals("1970-01-01T00:00:00Z", o.getString("at"));
    }
}
