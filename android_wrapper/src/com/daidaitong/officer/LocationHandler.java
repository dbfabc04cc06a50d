package com.daidaitong.officer;

import android.Manifest;
import android.content.Context;
import android.content.pm.PackageManager;
import android.location.Location;
import android.location.LocationListener;
import android.location.LocationManager;
import android.os.Bundle;
import android.os.Handler;
import android.os.Looper;
import android.os.SystemClock;

/**
 * location: one fix, GPS first and the network's as a fallback when GPS gives none within the
 * timeout; with its accuracy, time, provider and Location.isFromMockProvider().
 */
final class LocationHandler implements Router.Handler {
    private final Context context;
    private final Handler main = new Handler(Looper.getMainLooper());

    LocationHandler(Context context) {
        this.context = context.getApplicationContext();
    }

    static org.json.JSONObject result(Location l) {
        return Results.location(l.getLatitude(), l.getLongitude(), l.hasAccuracy() ? l.getAccuracy() : 0f,
            l.getTime(), l.getProvider(), l.isFromMockProvider());
    }

    @Override
    public void handle(final Protocol.Request req, final Router.Reply reply) {
        if (context.checkSelfPermission(Manifest.permission.ACCESS_FINE_LOCATION) != PackageManager.PERMISSION_GRANTED) {
            reply.fail(Protocol.PERMISSION_DENIED, "location permission not granted");
            return;
        }
        final LocationManager lm = (LocationManager) context.getSystemService(Context.LOCATION_SERVICE);
        if (lm == null) {
            reply.fail(Protocol.UNAVAILABLE, "no location service");
            return;
        }
        final int timeout = req.args.optInt("timeout_ms", 30000);
        final int maxAge = req.args.optInt("max_age_ms", 0);
        main.post(new Runnable() {
            @Override
            public void run() {
                try {
                    start(lm, timeout, maxAge, reply);
                } catch (SecurityException e) {
                    reply.fail(Protocol.PERMISSION_DENIED, "location permission not granted");
                } catch (RuntimeException e) {
                    reply.fail(Protocol.UNAVAILABLE, "location unavailable: " + e.getClass().getSimpleName());
                }
            }
        });
    }

    private void start(final LocationManager lm, int timeout, int maxAge, final Router.Reply reply) {
        if (maxAge > 0) {
            String[] providers = {LocationManager.GPS_PROVIDER, LocationManager.NETWORK_PROVIDER};
            Location[] last = new Location[2];
            long[] ages = new long[2];
            float[] accuracies = new float[2];
            for (int i = 0; i < 2; i++) {
                if (!lm.getAllProviders().contains(providers[i])) continue;
                last[i] = lm.getLastKnownLocation(providers[i]);
                if (last[i] == null) continue;
                ages[i] = ageMillis(last[i]);
                accuracies[i] = last[i].hasAccuracy() ? last[i].getAccuracy() : Float.MAX_VALUE;
            }
            Location best = FixRace.recent(last, ages, accuracies, maxAge);
            if (best != null) {
                reply.ok(result(best));
                return;
            }
        }
        boolean gps = lm.getAllProviders().contains(LocationManager.GPS_PROVIDER) && lm.isProviderEnabled(LocationManager.GPS_PROVIDER);
        boolean net = lm.getAllProviders().contains(LocationManager.NETWORK_PROVIDER) && lm.isProviderEnabled(LocationManager.NETWORK_PROVIDER);
        if (!gps && !net) {
            reply.fail(Protocol.UNAVAILABLE, "location is switched off");
            return;
        }
        final FixRace<Location> race = new FixRace<Location>(gps);
        final LocationListener[] listeners = new LocationListener[2];
        final Runnable[] timer = new Runnable[1];
        final Runnable stop = new Runnable() {
            @Override
            public void run() {
                main.removeCallbacks(timer[0]);
                for (LocationListener l : listeners) {
                    if (l != null) lm.removeUpdates(l);
                }
            }
        };
        timer[0] = new Runnable() {
            @Override
            public void run() {
                answer(race.onTimeout(), stop, reply);
            }
        };
        if (gps) {
            listeners[0] = new Listener() {
                @Override
                public void onLocationChanged(Location l) {
                    answer(race.onGps(l), stop, reply);
                }
            };
            lm.requestSingleUpdate(LocationManager.GPS_PROVIDER, listeners[0], Looper.getMainLooper());
        }
        if (net) {
            listeners[1] = new Listener() {
                @Override
                public void onLocationChanged(Location l) {
                    answer(race.onNetwork(l), stop, reply);
                }
            };
            lm.requestSingleUpdate(LocationManager.NETWORK_PROVIDER, listeners[1], Looper.getMainLooper());
        }
        main.postDelayed(timer[0], timeout);
    }

    private static void answer(FixRace.Outcome<Location> outcome, Runnable stop, Router.Reply reply) {
        if (outcome == null) return;
        stop.run();
        if (outcome.timedOut) reply.fail(Protocol.TIMEOUT, "no fix within the timeout");
        else reply.ok(result(outcome.fix));
    }

    private static long ageMillis(Location l) {
        return (SystemClock.elapsedRealtimeNanos() - l.getElapsedRealtimeNanos()) / 1000000L;
    }

    private abstract static class Listener implements LocationListener {
        @Override
        public void onStatusChanged(String provider, int status, Bundle extras) {}

        @Override
        public void onProviderEnabled(String provider) {}

        @Override
        public void onProviderDisabled(String provider) {}
    }
}
