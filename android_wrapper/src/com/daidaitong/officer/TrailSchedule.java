package com.daidaitong.officer;

import java.util.Calendar;
import java.util.TimeZone;

/**
 * When the background trail samples (pure Java): every {@code intervalMin} minutes within the working
 * hours {@code HH:MM-HH:MM} in the phone's local time. A span whose end is before its start runs over
 * midnight (e.g. {@code 22:00-06:00}); start equal to end means all day.
 */
public final class TrailSchedule {
    public static final int MIN_INTERVAL = 1;
    public static final int MAX_INTERVAL = 120;
    public static final int DEFAULT_INTERVAL = 5;
    public static final String DEFAULT_HOURS = "07:00-19:00";

    public final int intervalMin;
    public final String hours;
    /** Minutes after local midnight. */
    public final int startMin;
    public final int endMin;

    private TrailSchedule(int intervalMin, String hours, int startMin, int endMin) {
        this.intervalMin = intervalMin;
        this.hours = hours;
        this.startMin = startMin;
        this.endMin = endMin;
    }

    /** Parses and checks; throws IllegalArgumentException with an English reason for the log. */
    public static TrailSchedule parse(int intervalMin, String hours) {
        if (intervalMin < MIN_INTERVAL || intervalMin > MAX_INTERVAL) {
            throw new IllegalArgumentException("interval_min must be 1-120");
        }
        if (hours == null || !hours.matches("\\d\\d:\\d\\d-\\d\\d:\\d\\d")) {
            throw new IllegalArgumentException("hours must be HH:MM-HH:MM");
        }
        int s = minutes(hours.substring(0, 5));
        int e = minutes(hours.substring(6, 11));
        if (s < 0 || e < 0) {
            throw new IllegalArgumentException("hours must be HH:MM-HH:MM within 00:00-23:59");
        }
        return new TrailSchedule(intervalMin, hours, s, e);
    }

    private static int minutes(String hhmm) {
        int h = Integer.parseInt(hhmm.substring(0, 2));
        int m = Integer.parseInt(hhmm.substring(3, 5));
        if (h > 23 || m > 59) {
            return -1;
        }
        return h * 60 + m;
    }

    /** Whether a minute of the day (0-1439) is within the hours; the end minute is outside. */
    public boolean withinMinute(int minuteOfDay) {
        if (startMin == endMin) {
            return true;
        }
        if (startMin < endMin) {
            return minuteOfDay >= startMin && minuteOfDay < endMin;
        }
        return minuteOfDay >= startMin || minuteOfDay < endMin;
    }

    public boolean within(long millis, TimeZone tz) {
        Calendar c = Calendar.getInstance(tz);
        c.setTimeInMillis(millis);
        return withinMinute(c.get(Calendar.HOUR_OF_DAY) * 60 + c.get(Calendar.MINUTE));
    }

    /**
     * The time of the next sample: {@code lastSample + interval} (or {@code now} when there was none or
     * that time is already past), moved to the next start of the hours when it falls outside them.
     */
    public long nextSample(long now, long lastSample, TimeZone tz) {
        long candidate = lastSample <= 0 ? now : lastSample + intervalMin * 60000L;
        if (candidate < now || candidate > now + intervalMin * 60000L) {
            candidate = now; // late, or the clock was set back since the last sample
        }
        if (within(candidate, tz)) {
            return candidate;
        }
        return nextStart(candidate, tz);
    }

    /** The first moment at or after {@code t} when the hours begin. */
    public long nextStart(long t, TimeZone tz) {
        Calendar c = Calendar.getInstance(tz);
        c.setTimeInMillis(t);
        c.set(Calendar.HOUR_OF_DAY, startMin / 60);
        c.set(Calendar.MINUTE, startMin % 60);
        c.set(Calendar.SECOND, 0);
        c.set(Calendar.MILLISECOND, 0);
        if (c.getTimeInMillis() < t) {
            c.add(Calendar.DAY_OF_MONTH, 1);
            c.set(Calendar.HOUR_OF_DAY, startMin / 60);
            c.set(Calendar.MINUTE, startMin % 60);
        }
        return c.getTimeInMillis();
    }

    /** Samples per hour while within the hours (the battery estimate's unit). */
    public double samplesPerHour() {
        return 60.0 / intervalMin;
    }

    /** The notification's words, e.g. "07:00-19:00 每5分钟". */
    public String describe() {
        return hours + " 每" + intervalMin + "分钟";
    }
}
