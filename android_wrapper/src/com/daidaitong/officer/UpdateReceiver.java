package com.daidaitong.officer;

import android.app.DownloadManager;
import android.content.BroadcastReceiver;
import android.content.Context;
import android.content.Intent;

/** The DownloadManager's "download complete": verify the update off the main thread. */
public class UpdateReceiver extends BroadcastReceiver {
    @Override
    public void onReceive(Context context, Intent intent) {
        if (intent == null || !DownloadManager.ACTION_DOWNLOAD_COMPLETE.equals(intent.getAction())) {
            return;
        }
        final long id = intent.getLongExtra(DownloadManager.EXTRA_DOWNLOAD_ID, -1);
        final PendingResult done = goAsync();
        Updates.downloadCompleteAsync(context.getApplicationContext(), id, new Runnable() {
            @Override
            public void run() {
                done.finish();
            }
        });
    }
}
