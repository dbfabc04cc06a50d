package com.daidaitong.officer;

/**
 * The location request's rule, apart from Android: GPS first; the network's fix is kept as a
 * fallback and answers at once only when there is no GPS to wait for; at the timeout the fallback
 * answers, or nothing did. Exactly one outcome, later events ignored. Not thread-safe: the handler
 * feeds it on the main thread.
 */
public final class FixRace<T> {
    /** What the handler does now: wait, reply with fix, or reply timeout. */
    public static final class Outcome<T> {
        public final T fix;
        public final boolean timedOut;

        Outcome(T fix, boolean timedOut) {
            this.fix = fix;
            this.timedOut = timedOut;
        }
    }

    private final boolean gps;
    private T fallback;
    private boolean done;

    /** gps: a GPS update was requested (so a network fix only waits as a fallback). */
    public FixRace(boolean gps) {
        this.gps = gps;
    }

    public boolean done() {
        return done;
    }

    /** A GPS fix: the answer, unless one was given already (then null: nothing to do). */
    public Outcome<T> onGps(T fix) {
        if (done || fix == null) return null;
        done = true;
        return new Outcome<T>(fix, false);
    }

    /** A network fix: kept; the answer only when no GPS update is pending. */
    public Outcome<T> onNetwork(T fix) {
        if (done || fix == null) return null;
        fallback = fix;
        if (gps) return null;
        done = true;
        return new Outcome<T>(fix, false);
    }

    /** The timeout: the network's fix if one came, else timed out. */
    public Outcome<T> onTimeout() {
        if (done) return null;
        done = true;
        return fallback != null ? new Outcome<T>(fallback, false) : new Outcome<T>(null, true);
    }

    /**
     * Among last known fixes, the most accurate one no older than maxAgeMillis (null if none):
     * ages[i] and accuracies[i] describe candidates[i]; a null candidate is skipped.
     */
    public static <F> F recent(F[] candidates, long[] ages, float[] accuracies, long maxAgeMillis) {
        F best = null;
        float bestAccuracy = Float.MAX_VALUE;
        for (int i = 0; i < candidates.length; i++) {
            if (candidates[i] == null || ages[i] < 0 || ages[i] > maxAgeMillis) continue;
            if (best == null || accuracies[i] < bestAccuracy) {
                best = candidates[i];
                bestAccuracy = accuracies[i];
            }
        }
        return best;
    }
}
