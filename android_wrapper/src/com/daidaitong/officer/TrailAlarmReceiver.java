package com.daidaitong.officer;

import android.content.BroadcastReceiver;
import android.content.Context;
import android.content.Intent;

/** The trail's sample alarm: holds the wake lock, then hands the sample to the service. */
public class TrailAlarmReceiver extends BroadcastReceiver {
    @Override
    public void onReceive(Context context, Intent intent) {
        if (intent == null || !TrailService.ACTION_SAMPLE.equals(intent.getAction())) {
            return;
        }
        if (TrailService.running(context) == null) {
            return; // stopped since the alarm was set
        }
        TrailService.holdWakeLock(context);
        TrailService.startForegroundCompat(context,
                new Intent(context, TrailService.class).setAction(TrailService.ACTION_SAMPLE));
    }
}
