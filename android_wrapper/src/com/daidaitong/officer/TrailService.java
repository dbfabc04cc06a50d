package com.daidaitong.officer;

import android.Manifest;
import android.app.AlarmManager;
import android.app.Notification;
import android.app.NotificationManager;
import android.app.PendingIntent;
import android.app.Service;
import android.content.Context;
import android.content.Intent;
import android.content.SharedPreferences;
import android.content.pm.PackageManager;
import android.location.Location;
import android.location.LocationListener;
import android.location.LocationManager;
import android.os.Build;
import android.os.Bundle;
import android.os.Handler;
import android.os.IBinder;
import android.os.Looper;
import android.os.PowerManager;
import android.util.Log;

import java.io.File;
import java.io.IOException;
import java.util.TimeZone;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The background trail: a foreground service (ongoing notification "正在记录工作轨迹" with the hours)
 * that takes one GPS fix every interval within the working hours, even with the screen off, and
 * stores it durably in the TrailStore. Each sample is an exact alarm that may fire in Doze
 * (setExactAndAllowWhileIdle) → a partial wake lock → one location update (GPS, or the network
 * provider when GPS is off) with a timeout → the point stored with its provider and mock flag → the
 * page told ({@code trail_points}) if it is open → the wake lock released and the next alarm set.
 * The settings live in SharedPreferences; the service comes back after a reboot (TrailBootReceiver)
 * and after the process is killed (START_STICKY) while it is started.
 */
public class TrailService extends Service {
    static final String TAG = "DaidaitongTrail";
    static final String PREFS = "daidaitong_trail";
    static final String ACTION_SAMPLE = "com.daidaitong.officer.trail.SAMPLE";
    private static final String CHANNEL = "trail";
    private static final int NOTIFICATION_ID = 15;
    /** How long one sample may keep GPS on waiting for a fix. */
    static final long FIX_TIMEOUT_MS = 60000L;

    private static TrailStore store;
    /** The journal's writes and reads, one at a time, off the main thread (the trail.* handlers use it too). */
    static final ExecutorService IO = Executors.newSingleThreadExecutor();

    /** Held from the alarm (TrailAlarmReceiver) until the sample has ended; never longer than the timeout. */
    private static PowerManager.WakeLock wakeLock;

    private final Handler main = new Handler(Looper.getMainLooper());
    private LocationListener pending;
    private Runnable pendingTimeout;

    // ------------------------------------------------------------------ the handlers' side

    /** The process's one store, under the app's private files. */
    static synchronized TrailStore store(Context c) throws IOException {
        if (store == null) {
            store = new TrailStore(new File(c.getApplicationContext().getFilesDir(), "trail"));
        }
        return store;
    }

    static SharedPreferences prefs(Context c) {
        return c.getApplicationContext().getSharedPreferences(PREFS, Context.MODE_PRIVATE);
    }

    /** The stored schedule while the trail is started, else null. */
    static TrailSchedule running(Context c) {
        SharedPreferences p = prefs(c);
        if (!p.getBoolean("running", false)) {
            return null;
        }
        try {
            return TrailSchedule.parse(p.getInt("interval_min", TrailSchedule.DEFAULT_INTERVAL),
                    p.getString("hours", TrailSchedule.DEFAULT_HOURS));
        } catch (IllegalArgumentException e) {
            Log.w(TAG, "stored trail settings unreadable (" + e.getMessage() + "): trail stopped");
            return null;
        }
    }

    static void start(Context c, TrailSchedule s) {
        prefs(c).edit().putBoolean("running", true).putInt("interval_min", s.intervalMin)
                .putString("hours", s.hours).apply();
        startForegroundCompat(c, new Intent(c, TrailService.class));
    }

    static void stop(Context c) {
        prefs(c).edit().putBoolean("running", false).apply();
        alarms(c).cancel(sampleIntent(c));
        c.stopService(new Intent(c, TrailService.class));
    }

    /** startForegroundService on API 26+ (by reflection: the build's platform is API 23). */
    static void startForegroundCompat(Context c, Intent i) {
        if (Build.VERSION.SDK_INT >= 26) {
            try {
                Context.class.getMethod("startForegroundService", Intent.class).invoke(c, i);
                return;
            } catch (Exception e) {
                Log.w(TAG, "startForegroundService failed: " + e);
            }
        }
        try {
            c.startService(i);
        } catch (RuntimeException e) { // background start refused: the next app start or boot resumes it
            Log.e(TAG, "trail service not started: " + e);
        }
    }

    // ------------------------------------------------------------------ the service

    @Override
    public void onCreate() {
        super.onCreate();
        TrailSchedule s = running(this);
        startForeground(NOTIFICATION_ID, notification(s));
    }

    @Override
    public int onStartCommand(Intent intent, int flags, int startId) {
        TrailSchedule s = running(this);
        if (s == null) {
            Log.i(TAG, "trail not started: service stops");
            stopForeground(true);
            stopSelf();
            return START_NOT_STICKY;
        }
        // Foreground again on every start (startForegroundService asks it each time); the notification
        // says the current hours (they may have changed with a new trail.start).
        startForeground(NOTIFICATION_ID, notification(s));
        boolean sampleNow = intent != null && ACTION_SAMPLE.equals(intent.getAction());
        if (sampleNow && s.within(System.currentTimeMillis(), TimeZone.getDefault())) {
            sample(s);
        } else {
            scheduleNext(s);
            if (pending == null) {
                releaseWakeLock();
            }
        }
        return START_STICKY;
    }

    @Override
    public IBinder onBind(Intent intent) {
        return null;
    }

    @Override
    public void onDestroy() {
        finishSample(null, null);
        releaseWakeLock();
        super.onDestroy();
    }

    private void scheduleNext(TrailSchedule s) {
        long last = prefs(this).getLong("last_sample", 0);
        long at = s.nextSample(System.currentTimeMillis(), last, TimeZone.getDefault());
        alarms(this).setExactAndAllowWhileIdle(AlarmManager.RTC_WAKEUP, at, sampleIntent(this));
        Log.i(TAG, "next sample at " + TrailPoint.isoUtc(at));
    }

    private void sample(final TrailSchedule s) {
        if (pending != null) {
            return; // one sample at a time; its end schedules the next
        }
        holdWakeLock(this);
        prefs(this).edit().putLong("last_sample", System.currentTimeMillis()).apply();
        if (checkSelfPermission(Manifest.permission.ACCESS_FINE_LOCATION) != PackageManager.PERMISSION_GRANTED) {
            Log.w(TAG, "sample skipped: location permission not granted");
            scheduleNext(s);
            releaseWakeLock();
            return;
        }
        LocationManager lm = (LocationManager) getSystemService(LOCATION_SERVICE);
        String provider = lm.isProviderEnabled(LocationManager.GPS_PROVIDER) ? LocationManager.GPS_PROVIDER
                : lm.isProviderEnabled(LocationManager.NETWORK_PROVIDER) ? LocationManager.NETWORK_PROVIDER : null;
        if (provider == null) {
            Log.w(TAG, "sample skipped: location is switched off");
            scheduleNext(s);
            releaseWakeLock();
            return;
        }
        pending = new LocationListener() {
            @Override
            public void onLocationChanged(Location location) {
                finishSample(location, s);
            }

            @Override
            public void onStatusChanged(String p, int status, Bundle extras) {
            }

            @Override
            public void onProviderEnabled(String p) {
            }

            @Override
            public void onProviderDisabled(String p) {
            }
        };
        pendingTimeout = new Runnable() {
            @Override
            public void run() {
                Log.w(TAG, "no fix within " + FIX_TIMEOUT_MS / 1000 + " s: sample skipped");
                finishSample(null, s);
            }
        };
        try {
            lm.requestSingleUpdate(provider, pending, Looper.getMainLooper());
            main.postDelayed(pendingTimeout, FIX_TIMEOUT_MS);
        } catch (SecurityException | IllegalArgumentException e) {
            Log.w(TAG, "location request refused: " + e);
            finishSample(null, s);
        }
    }

    /** Ends the sample in progress (a fix, a timeout, or the service going away). */
    private void finishSample(Location fix, TrailSchedule s) {
        if (pending != null) {
            try {
                ((LocationManager) getSystemService(LOCATION_SERVICE)).removeUpdates(pending);
            } catch (SecurityException e) {
                Log.w(TAG, "removeUpdates: " + e);
            }
            pending = null;
        }
        if (pendingTimeout != null) {
            main.removeCallbacks(pendingTimeout);
            pendingTimeout = null;
        }
        if (s != null) {
            scheduleNext(s);
        }
        if (fix != null) {
            store(fix); // releases the wake lock once the point is on disk
        } else {
            releaseWakeLock();
        }
    }

    /** A partial wake lock for one sample (the alarm's receiver takes it before the service starts). */
    static synchronized void holdWakeLock(Context c) {
        if (wakeLock == null) {
            PowerManager pm = (PowerManager) c.getApplicationContext().getSystemService(POWER_SERVICE);
            wakeLock = pm.newWakeLock(PowerManager.PARTIAL_WAKE_LOCK, "daidaitong:trail-sample");
            wakeLock.setReferenceCounted(false);
        }
        wakeLock.acquire(FIX_TIMEOUT_MS + 15000L);
    }

    static synchronized void releaseWakeLock() {
        if (wakeLock != null && wakeLock.isHeld()) {
            wakeLock.release();
        }
    }

    /** Stores on the IO thread (the journal's fsync, and the first open's replay, stay off the main thread). */
    private void store(Location fix) {
        final TrailPoint sample = TrailPoint.sample(fix.getTime() > 0 ? fix.getTime() : System.currentTimeMillis(),
                fix.getLatitude(), fix.getLongitude(), Math.round(fix.getAccuracy()), fix.getProvider(),
                fix.isFromMockProvider());
        final Context app = getApplicationContext();
        IO.execute(new Runnable() {
            @Override
            public void run() {
                try {
                    TrailStore st = store(app);
                    TrailPoint p = st.add(sample);
                    Log.i(TAG, "stored " + p + " (" + st.waiting() + " waiting)");
                    Bridge.events().send("trail_points", TrailJson.waiting(st.waiting()));
                } catch (IOException | RuntimeException e) {
                    Log.e(TAG, "point not stored: " + e);
                } finally {
                    releaseWakeLock();
                }
            }
        });
    }

    // ------------------------------------------------------------------ platform helpers

    static AlarmManager alarms(Context c) {
        return (AlarmManager) c.getSystemService(Context.ALARM_SERVICE);
    }

    /**
     * The alarm's intent: a broadcast to TrailAlarmReceiver (the alarm manager keeps the phone awake
     * while a receiver runs, not while a service starts; the receiver takes the sample's wake lock).
     */
    static PendingIntent sampleIntent(Context c) {
        Intent i = new Intent(c, TrailAlarmReceiver.class).setAction(ACTION_SAMPLE);
        return PendingIntent.getBroadcast(c, 0, i, PendingIntent.FLAG_UPDATE_CURRENT | PendingIntent.FLAG_IMMUTABLE);
    }

    @SuppressWarnings("deprecation")
    private Notification notification(TrailSchedule s) {
        Notification.Builder b;
        if (Build.VERSION.SDK_INT >= 26) {
            b = channelBuilder();
        } else {
            b = new Notification.Builder(this);
        }
        if (b == null) {
            b = new Notification.Builder(this);
        }
        Intent open = new Intent(this, MainActivity.class).addFlags(Intent.FLAG_ACTIVITY_NEW_TASK);
        return b.setSmallIcon(R.mipmap.ic_launcher)
                .setContentTitle("正在记录工作轨迹")
                .setContentText(s == null ? "" : "工作时间 " + s.describe())
                .setOngoing(true)
                .setShowWhen(false)
                .setPriority(Notification.PRIORITY_LOW)
                .setContentIntent(PendingIntent.getActivity(this, 0, open,
                        PendingIntent.FLAG_UPDATE_CURRENT | PendingIntent.FLAG_IMMUTABLE))
                .build();
    }

    /** API 26+: a low-importance channel and a builder on it, by reflection. */
    private Notification.Builder channelBuilder() {
        try {
            Class<?> ch = Class.forName("android.app.NotificationChannel");
            Object channel = ch.getConstructor(String.class, CharSequence.class, int.class)
                    .newInstance(CHANNEL, "工作轨迹", 2 /* IMPORTANCE_LOW */);
            NotificationManager nm = (NotificationManager) getSystemService(NOTIFICATION_SERVICE);
            NotificationManager.class.getMethod("createNotificationChannel", ch).invoke(nm, channel);
            return Notification.Builder.class.getConstructor(Context.class, String.class).newInstance(this, CHANNEL);
        } catch (Exception e) {
            Log.w(TAG, "notification channel: " + e);
            return null;
        }
    }
}
