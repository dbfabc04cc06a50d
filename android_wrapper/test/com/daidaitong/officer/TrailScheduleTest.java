package com.daidaitong.officer;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.text.ParseException;
import java.text.SimpleDateFormat;
import java.util.Locale;
import java.util.TimeZone;

import org.junit.Test;

public class TrailScheduleTest {
    private static final TimeZone SHANGHAI = TimeZone.getTimeZone("Asia/Shanghai");

    private static long at(String local) throws ParseException {
        SimpleDateFormat f = new SimpleDateFormat("yyyy-MM-dd HH:mm", Locale.US);
        f.setTimeZone(SHANGHAI);
        return f.parse(local).getTime();
    }

    @Test
    public void withinTheDaysHoursStartIncludedEndExcluded() throws ParseException {
        TrailSchedule s = TrailSchedule.parse(5, "07:00-19:00");
        assertFalse(s.within(at("2026-12-01 06:59"), SHANGHAI));
        assertTrue(s.within(at("2026-12-01 07:00"), SHANGHAI));
        assertTrue(s.within(at("2026-12-01 18:59"), SHANGHAI));
        assertFalse(s.within(at("2026-12-01 19:00"), SHANGHAI));
    }

    @Test
    public void hoursOverMidnightAndAllDay() {
        TrailSchedule night = TrailSchedule.parse(5, "22:00-06:00");
        assertTrue(night.withinMinute(23 * 60));
        assertTrue(night.withinMinute(5 * 60 + 59));
        assertFalse(night.withinMinute(6 * 60));
        assertFalse(night.withinMinute(12 * 60));
        TrailSchedule all = TrailSchedule.parse(5, "00:00-00:00");
        assertTrue(all.withinMinute(0));
        assertTrue(all.withinMinute(1439));
    }

    @Test
    public void nextSampleIsOneIntervalAfterTheLastWithinTheHours() throws ParseException {
        TrailSchedule s = TrailSchedule.parse(5, "07:00-19:00");
        long last = at("2026-12-01 10:00");
        assertEquals(at("2026-12-01 10:05"), s.nextSample(at("2026-12-01 10:01"), last, SHANGHAI));
        // Late (the phone slept past it): now, not a burst of missed samples.
        assertEquals(at("2026-12-01 10:30"), s.nextSample(at("2026-12-01 10:30"), last, SHANGHAI));
        // No sample yet: now.
        assertEquals(at("2026-12-01 08:00"), s.nextSample(at("2026-12-01 08:00"), 0, SHANGHAI));
    }

    @Test
    public void aClockSetBackDoesNotPostponeTheNextSample() throws ParseException {
        TrailSchedule s = TrailSchedule.parse(5, "07:00-19:00");
        // The last sample "happened" at 15:00, then the phone's clock was corrected to 10:00.
        assertEquals(at("2026-12-01 10:00"), s.nextSample(at("2026-12-01 10:00"), at("2026-12-01 15:00"), SHANGHAI));
    }

    @Test
    public void outsideTheHoursTheNextSampleIsTheNextStart() throws ParseException {
        TrailSchedule s = TrailSchedule.parse(5, "07:00-19:00");
        assertEquals(at("2026-12-02 07:00"), s.nextSample(at("2026-12-01 18:58"), at("2026-12-01 18:56"), SHANGHAI));
        assertEquals(at("2026-12-02 07:00"), s.nextSample(at("2026-12-01 23:30"), 0, SHANGHAI));
        assertEquals(at("2026-12-01 07:00"), s.nextSample(at("2026-12-01 05:10"), 0, SHANGHAI));
        // Over the year's end.
        assertEquals(at("2027-01-01 07:00"), s.nextSample(at("2026-12-31 20:00"), 0, SHANGHAI));
        TrailSchedule night = TrailSchedule.parse(30, "22:00-06:00");
        assertEquals(at("2026-12-01 22:00"), night.nextSample(at("2026-12-01 12:00"), 0, SHANGHAI));
        assertEquals(at("2026-12-02 00:30"), night.nextSample(at("2026-12-02 00:10"), at("2026-12-02 00:00"), SHANGHAI));
    }

    @Test
    public void badHoursAndIntervalsAreRefused() {
        String[] bad = {"7-19", "07:00-24:00", "07:60-19:00", "07:00", "", "07:00-19:00 ", "ab:cd-ef:gh"};
        for (String h : bad) {
            try {
                TrailSchedule.parse(5, h);
                fail("accepted hours " + h);
            } catch (IllegalArgumentException expected) {
                // refused
            }
        }
        int[] badIntervals = {0, -1, 121};
        for (int i : badIntervals) {
            try {
                TrailSchedule.parse(i, "07:00-19:00");
                fail("accepted interval " + i);
            } catch (IllegalArgumentException expected) {
                // refused
            }
        }
        assertEquals(1, TrailSchedule.parse(1, "07:00-19:00").intervalMin);
        assertEquals(120, TrailSchedule.parse(120, "07:00-19:00").intervalMin);
    }

    @Test
    public void theDefaultIntervalIsTwelveSamplesAnHour() {
        TrailSchedule s = TrailSchedule.parse(TrailSchedule.DEFAULT_INTERVAL, TrailSchedule.DEFAULT_HOURS);
        assertEquals(12.0, s.samplesPerHour(), 0.0);
        assertEquals("07:00-19:00 每5分钟", s.describe());
    }
}
