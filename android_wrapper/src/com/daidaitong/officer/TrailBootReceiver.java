package com.daidaitong.officer;

import android.content.BroadcastReceiver;
import android.content.Context;
import android.content.Intent;
import android.util.Log;

/**
 * After a reboot or an update of the app: the trail resumes if it was started, and the sync job and
 * the daily check are scheduled again (JobScheduler keeps persisted jobs, this makes sure).
 */
public class TrailBootReceiver extends BroadcastReceiver {
    @Override
    public void onReceive(Context context, Intent intent) {
        String action = intent == null ? null : intent.getAction();
        if (!Intent.ACTION_BOOT_COMPLETED.equals(action) && !Intent.ACTION_MY_PACKAGE_REPLACED.equals(action)) {
            return;
        }
        TrailSchedule s = TrailService.running(context);
        if (s != null) {
            Log.i(TrailService.TAG, "trail resumes after " + action + ": " + s.describe());
            TrailService.startForegroundCompat(context, new android.content.Intent(context, TrailService.class));
        }
        SyncWakeJob.schedule(context);
    }
}
