package com.daidaitong.officer;

import android.app.job.JobInfo;
import android.app.job.JobParameters;
import android.app.job.JobScheduler;
import android.app.job.JobService;
import android.content.ComponentName;
import android.content.Context;
import android.graphics.Bitmap;
import android.os.Handler;
import android.os.Looper;
import android.os.PersistableBundle;
import android.util.Log;
import android.webkit.WebView;
import android.webkit.WebViewClient;

import org.json.JSONException;
import org.json.JSONObject;

/**
 * Wakes the web app's queue when the page is closed (issue 15, "the queue drains with the app
 * closed"). Two persisted jobs: one that runs when any network is up (and, after a good run, again no
 * sooner than {@link #AGAIN_AFTER_MS}), and a daily one (which also checks for an app update). When
 * it runs: if a page holds the bridge it gets the {@code sync_wake} event; otherwise a headless
 * WebView (application context, the same settings and user agent as the Activity's) loads
 * {@code <server>/m/?wake=1} with the same bridge channel and gets the event once loaded. The job ends
 * on the page's {@code sync.done} or after {@link #WAIT_MS}; a failed or timed-out run is retried by
 * JobScheduler (jobFinished(params, true)).
 */
public class SyncWakeJob extends JobService {
    static final String TAG = "DaidaitongSyncWake";
    static final int JOB_CONNECTIVITY = 1501;
    static final int JOB_DAILY = 1502;
    static final long WAIT_MS = 5 * 60 * 1000L;
    static final long AGAIN_AFTER_MS = 15 * 60 * 1000L;
    static final long DAY_MS = 24 * 60 * 60 * 1000L;

    private static final Handler MAIN = new Handler(Looper.getMainLooper());
    /** The run waiting for sync.done (main thread only). */
    private static Run current;

    // ------------------------------------------------------------------ scheduling

    /** Makes sure both jobs are scheduled (at app start, after boot). */
    static void schedule(Context c) {
        JobScheduler js = (JobScheduler) c.getSystemService(Context.JOB_SCHEDULER_SERVICE);
        boolean haveConn = false;
        boolean haveDaily = false;
        for (JobInfo j : js.getAllPendingJobs()) {
            haveConn |= j.getId() == JOB_CONNECTIVITY;
            haveDaily |= j.getId() == JOB_DAILY;
        }
        if (!haveConn) {
            // Not at once: at app start the page runs its own queue, and a headless page beside it
            // would only do the same work twice.
            scheduleConnectivity(c, AGAIN_AFTER_MS);
        }
        if (!haveDaily) {
            PersistableBundle extras = new PersistableBundle();
            extras.putString("reason", "daily");
            js.schedule(new JobInfo.Builder(JOB_DAILY, new ComponentName(c, SyncWakeJob.class))
                    .setRequiredNetworkType(JobInfo.NETWORK_TYPE_ANY)
                    .setPeriodic(DAY_MS)
                    .setPersisted(true)
                    .setExtras(extras)
                    .build());
        }
    }

    private static void scheduleConnectivity(Context c, long notBeforeMs) {
        PersistableBundle extras = new PersistableBundle();
        extras.putString("reason", "connectivity");
        JobInfo.Builder b = new JobInfo.Builder(JOB_CONNECTIVITY, new ComponentName(c, SyncWakeJob.class))
                .setRequiredNetworkType(JobInfo.NETWORK_TYPE_ANY)
                .setPersisted(true)
                .setExtras(extras);
        if (notBeforeMs > 0) {
            b.setMinimumLatency(notBeforeMs);
        }
        ((JobScheduler) c.getSystemService(Context.JOB_SCHEDULER_SERVICE)).schedule(b.build());
    }

    /** sync.done: the page says the run it was woken for has ended. Always answered {}. */
    static void register(Router router, Context context) {
        router.register("sync.done", new Router.Handler() {
            @Override
            public void handle(final Protocol.Request req, Router.Reply reply) {
                final boolean ok = req.args.optBoolean("ok", false);
                MAIN.post(new Runnable() {
                    @Override
                    public void run() {
                        if (current != null) {
                            current.finish(ok, "sync.done ok=" + ok);
                        } else {
                            Log.i(TAG, "sync.done without a wake (ok=" + ok + ")");
                        }
                    }
                });
                reply.ok(new JSONObject());
            }
        });
    }

    // ------------------------------------------------------------------ the job

    @Override
    public boolean onStartJob(JobParameters params) {
        String reason = params.getExtras().getString("reason", "connectivity");
        if ("daily".equals(reason)) {
            Updates.checkInBackground(this);
        }
        if (current != null) {
            Log.i(TAG, "a wake is already running: this one ends at once");
            if (params.getJobId() == JOB_CONNECTIVITY) {
                scheduleConnectivity(this, AGAIN_AFTER_MS);
            }
            return false;
        }
        current = new Run(this, params, reason);
        return current.start();
    }

    @Override
    public boolean onStopJob(JobParameters params) {
        if (current != null && current.params.getJobId() == params.getJobId()) {
            Log.w(TAG, "the system stopped the wake (constraints no longer met): retried later");
            current.cleanUp();
            current = null;
        }
        return true;
    }

    /** One wake: the event to the page (open, or headless) and the wait for sync.done. */
    private static final class Run {
        final SyncWakeJob job;
        final JobParameters params;
        final String reason;
        WebView web;
        Bridge bridge;
        boolean woken;
        final Runnable timeout = new Runnable() {
            @Override
            public void run() {
                finish(false, "no sync.done within " + WAIT_MS / 1000 + " s");
            }
        };

        Run(SyncWakeJob job, JobParameters params, String reason) {
            this.job = job;
            this.params = params;
            this.reason = reason;
        }

        /** Returns whether the job goes on (false: finished already). */
        boolean start() {
            JSONObject data = new JSONObject();
            try {
                data.put("reason", reason);
            } catch (JSONException e) {
                throw new IllegalStateException(e);
            }
            if (Bridge.hasPage()) {
                Log.i(TAG, "wake (" + reason + "): the open page runs its queue");
                Bridge.events().send("sync_wake", data);
            } else {
                boolean started;
                try {
                    started = startHeadless(data);
                } catch (RuntimeException e) { // e.g. the WebView package missing or being updated
                    Log.e(TAG, "headless page not started: " + e);
                    cleanUp();
                    started = false;
                }
                if (!started) {
                    current = null;
                    if (params.getJobId() == JOB_CONNECTIVITY) {
                        scheduleConnectivity(job, AGAIN_AFTER_MS);
                    }
                    return false;
                }
            }
            MAIN.postDelayed(timeout, WAIT_MS);
            return true;
        }

        private boolean startHeadless(final JSONObject data) {
            Context app = job.getApplicationContext();
            OriginPolicy.Origin server = MainActivity.serverOrigin(app);
            if (server == null) {
                Log.i(TAG, "wake skipped: no server set yet (or the stored one is refused)");
                return false;
            }
            final OriginPolicy policy = new OriginPolicy(server);
            Router router = new Router(Bridge.routerLog());
            MainActivity.registerOwnHandlers(router, app);
            TrailBridge.register(router, app);
            Updates.register(router, app);
            SyncWakeJob.register(router, app);
            web = new WebView(app);
            MainActivity.configureWebView(web, app);
            bridge = new Bridge(web, policy, router,
                    Protocol.hello(app.getPackageName(), MainActivity.versionCodeOf(app), MainActivity.versionNameOf(app)));
            web.setWebViewClient(new WebViewClient() {
                @Override
                public boolean shouldOverrideUrlLoading(WebView view, String url) {
                    if (policy.sameOrigin(url)) {
                        return false;
                    }
                    Log.w(TAG, "headless page tried to leave the server's origin: blocked");
                    return true;
                }

                @Override
                public void onPageStarted(WebView view, String url, Bitmap favicon) {
                    if (bridge != null) {
                        bridge.pageStarted();
                    }
                }

                @Override
                public void onPageFinished(WebView view, String url) {
                    if (bridge != null) {
                        bridge.pageFinished(url);
                        if (!woken && policy.sameOrigin(url)) {
                            woken = true; // onPageFinished may come twice for one load
                            bridge.send("sync_wake", data);
                        }
                    }
                }
            });
            Log.i(TAG, "wake (" + reason + "): headless page " + policy.startUrl() + "?wake=1");
            web.loadUrl(policy.startUrl() + "?wake=1");
            return true;
        }

        void finish(boolean ok, String why) {
            if (current != this) {
                return;
            }
            Log.i(TAG, "wake (" + reason + ") ended: " + why);
            cleanUp();
            current = null;
            boolean retry = !ok;
            job.jobFinished(params, retry);
            if (!retry && params.getJobId() == JOB_CONNECTIVITY) {
                scheduleConnectivity(job, AGAIN_AFTER_MS);
            }
        }

        void cleanUp() {
            MAIN.removeCallbacks(timeout);
            if (bridge != null) {
                bridge.close();
                bridge = null;
            }
            if (web != null) {
                web.stopLoading();
                web.destroy();
                web = null;
            }
        }
    }
}
