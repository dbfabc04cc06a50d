package com.daidaitong.officer;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import org.junit.Test;

/** The location request: GPS first, the network's fix as the fallback, one answer. */
public class FixRaceTest {
    @Test
    public void aGpsFixIsTheAnswer() {
        FixRace<String> r = new FixRace<String>(true);
        assertEquals("gps", r.onGps("gps").fix);
        assertNull(r.onNetwork("net"));
        assertNull(r.onTimeout());
    }

    @Test
    public void aNetworkFixWaitsForGps() {
        FixRace<String> r = new FixRace<String>(true);
        assertNull(r.onNetwork("net"));
        assertEquals("gps", r.onGps("gps").fix);
        assertTrue(r.done());
    }

    @Test
    public void withoutGpsTheNetworkFixAnswersAtOnce() {
        FixRace<String> r = new FixRace<String>(false);
        assertEquals("net", r.onNetwork("net").fix);
        assertNull(r.onTimeout());
    }

    @Test
    public void atTheTimeoutTheNetworkFixAnswersElseTimeout() {
        FixRace<String> r = new FixRace<String>(true);
        r.onNetwork("net");
        FixRace.Outcome<String> o = r.onTimeout();
        assertEquals("net", o.fix);
        assertEquals(false, o.timedOut);
        assertNull(r.onGps("gps"));

        FixRace<String> empty = new FixRace<String>(true);
        assertTrue(empty.onTimeout().timedOut);
        assertNull(empty.onGps("late"));
    }

    @Test
    public void theMostAccurateRecentLastKnownFix() {
        String[] fixes = {"gps", "net"};
        assertEquals("net", FixRace.recent(fixes, new long[] {1000, 1000}, new float[] {30f, 12f}, 5000));
        assertEquals("gps", FixRace.recent(fixes, new long[] {1000, 9000}, new float[] {30f, 12f}, 5000));
        assertNull(FixRace.recent(fixes, new long[] {9000, 9000}, new float[] {30f, 12f}, 5000));
        assertEquals("gps", FixRace.recent(new String[] {"gps", null}, new long[] {0, 0}, new float[] {30f, 0f}, 5000));
        assertNull(FixRace.recent(fixes, new long[] {-1, -5}, new float[] {1f, 1f}, 5000));
    }
}
