package com.daidaitong.officer;

import android.app.DownloadManager;
import android.content.Context;
import android.content.Intent;
import android.content.SharedPreferences;
import android.content.pm.PackageInfo;
import android.content.pm.PackageManager;
import android.database.Cursor;
import android.net.Uri;
import android.os.Environment;
import android.util.Log;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.URL;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import org.json.JSONException;
import org.json.JSONObject;

/**
 * Self-update (PROTOCOL.md "Updates"): asks the server for its published release at start and daily,
 * downloads a higher version with the platform DownloadManager into the app's external files folder,
 * verifies it (UpdateVerifier: size, SHA-256, package, versionCode, signer) and only then opens the
 * system installer. A refused file is deleted with one log line; nothing is ever installed from it.
 */
final class Updates {
    static final String TAG = "DaidaitongUpdate";
    private static final String PREFS = "daidaitong_update";
    private static final String APK_TYPE = "application/vnd.android.package-archive";
    private static final ExecutorService IO = Executors.newSingleThreadExecutor();

    private Updates() {
    }

    // ------------------------------------------------------------------ the page's requests

    static void register(Router router, Context context) {
        final Context app = context.getApplicationContext();
        router.register("update.check", new Router.Handler() {
            @Override
            public void handle(Protocol.Request req, final Router.Reply reply) {
                IO.execute(new Runnable() {
                    @Override
                    public void run() {
                        try {
                            reply.ok(check(app, false));
                        } catch (RuntimeException e) { // e.g. the DownloadManager refusing: never a crash
                            Log.e(TAG, "update.check failed: " + e);
                            reply.fail(Protocol.INTERNAL, "update check failed");
                        }
                    }
                });
            }
        });
        router.register("update.install", new Router.Handler() {
            @Override
            public void handle(Protocol.Request req, final Router.Reply reply) {
                IO.execute(new Runnable() {
                    @Override
                    public void run() {
                        try {
                            reply.ok(state(install(app)));
                        } catch (RuntimeException e) {
                            Log.e(TAG, "update.install failed: " + e);
                            failed(app, e.toString());
                            reply.ok(state(UpdateRelease.FAILED));
                        }
                    }
                });
            }
        });
    }

    /** At app start and from the daily job: check, and fetch a higher version in the background. */
    static void checkInBackground(Context context) {
        final Context app = context.getApplicationContext();
        IO.execute(new Runnable() {
            @Override
            public void run() {
                try {
                    check(app, true);
                } catch (RuntimeException e) {
                    Log.e(TAG, "background update check failed: " + e);
                }
            }
        });
    }

    // ------------------------------------------------------------------ the steps (on IO)

    /** update.check's result: {current, available, min, state}; download=true starts a due download. */
    static JSONObject check(Context c, boolean download) {
        int own = ownVersionCode(c);
        SharedPreferences p = prefs(c);
        UpdateRelease r = null;
        boolean fetchFailed = false;
        try {
            r = fetch(c);
        } catch (IOException | IllegalArgumentException e) {
            Log.w(TAG, "release check failed: " + e.getMessage());
            fetchFailed = true;
        }
        boolean holding = p.getLong("download_id", -1) >= 0;
        UpdateDecision d = UpdateDecision.decide(own, r, fetchFailed, p.getString("state", ""),
                holding ? p.getInt("release_code", -1) : -1, p.getString("sha256", ""),
                holding && downloadRunning(c), download);
        if (d.startDownload) {
            startDownload(c, r, false);
        } else if (d.dropDownload) {
            refuse(c, "no longer needed"); // nothing newer published, or installed already
            p.edit().putString("state", UpdateRelease.UP_TO_DATE).apply();
        }
        String state = d.state;
        JSONObject o = new JSONObject();
        try {
            o.put("current", own);
            o.put("available", r == null || !r.newerThan(own) ? JSONObject.NULL : (Object) r.versionCode);
            o.put("min", r == null ? JSONObject.NULL : (Object) r.minVersionCode);
            o.put("state", state);
        } catch (JSONException e) {
            throw new IllegalStateException(e);
        }
        Log.i(TAG, "update check: " + o);
        return o;
    }

    /** update.install: the installer if a verified file is ready, else the download (then the installer). */
    static String install(Context c) {
        SharedPreferences p = prefs(c);
        int own = ownVersionCode(c);
        String busy = p.getString("state", "");
        if (UpdateRelease.READY.equals(busy) && p.getInt("release_code", -1) > own) {
            // Verified again right before the installer: the file may have changed since.
            return verifyAndOpen(c, true) ? UpdateRelease.READY : UpdateRelease.FAILED;
        }
        if (UpdateRelease.DOWNLOADING.equals(busy) && downloadRunning(c)) {
            p.edit().putBoolean("open_after", true).apply();
            return UpdateRelease.DOWNLOADING;
        }
        UpdateRelease r;
        try {
            r = fetch(c);
        } catch (IOException | IllegalArgumentException e) {
            Log.w(TAG, "release check failed: " + e.getMessage());
            return UpdateRelease.FAILED;
        }
        if (r == null || !r.newerThan(own)) {
            return UpdateRelease.UP_TO_DATE;
        }
        startDownload(c, r, true);
        return UpdateRelease.DOWNLOADING;
    }

    /** GET <server>/api/v1/android/release; null for 404 (nothing published). */
    static UpdateRelease fetch(Context c) throws IOException {
        String server = c.getSharedPreferences(MainActivity.PREFS, Context.MODE_PRIVATE)
                .getString(MainActivity.PREF_SERVER, null);
        if (server == null) {
            throw new IOException("no server set");
        }
        HttpURLConnection h = (HttpURLConnection) new URL(server + "/api/v1/android/release").openConnection();
        try {
            h.setConnectTimeout(15000);
            h.setReadTimeout(15000);
            h.setInstanceFollowRedirects(false);
            h.setRequestProperty("Accept", "application/json");
            h.setRequestProperty("User-Agent", System.getProperty("http.agent", "Android")
                    + " DaidaitongAndroid/" + ownVersionCode(c));
            int status = h.getResponseCode();
            if (status == 404) {
                return null;
            }
            if (status != 200) {
                throw new IOException("release answered HTTP " + status);
            }
            InputStream in = h.getInputStream();
            ByteArrayOutputStream bo = new ByteArrayOutputStream();
            byte[] buf = new byte[8192];
            int n;
            while ((n = in.read(buf)) > 0 && bo.size() < 65536) {
                bo.write(buf, 0, n);
            }
            in.close();
            return UpdateRelease.parse(bo.toString("UTF-8"), server);
        } finally {
            h.disconnect();
        }
    }

    private static void startDownload(Context c, UpdateRelease r, boolean openAfter) {
        DownloadManager dm = (DownloadManager) c.getSystemService(Context.DOWNLOAD_SERVICE);
        SharedPreferences p = prefs(c);
        long old = p.getLong("download_id", -1);
        if (old >= 0) {
            dm.remove(old);
        }
        String name = "daidaitong-officer-" + r.versionCode + ".apk";
        File dir = c.getExternalFilesDir(Environment.DIRECTORY_DOWNLOADS);
        if (dir != null) {
            new File(dir, name).delete();
        }
        DownloadManager.Request q = new DownloadManager.Request(Uri.parse(r.url))
                .setTitle("贷贷通 " + r.versionName)
                .setDescription("正在下载新版本")
                .setMimeType(APK_TYPE)
                .setNotificationVisibility(DownloadManager.Request.VISIBILITY_VISIBLE)
                .setDestinationInExternalFilesDir(c, Environment.DIRECTORY_DOWNLOADS, name);
        long id = dm.enqueue(q);
        p.edit().putString("state", UpdateRelease.DOWNLOADING).putLong("download_id", id)
                .putInt("release_code", r.versionCode).putLong("size", r.size).putString("sha256", r.sha256)
                .putBoolean("open_after", openAfter).apply();
        Log.i(TAG, "downloading version " + r.versionCode + " from " + r.url + " (download " + id + ")");
    }

    private static boolean downloadRunning(Context c) {
        int status = status(c, prefs(c).getLong("download_id", -1));
        return status == DownloadManager.STATUS_PENDING || status == DownloadManager.STATUS_RUNNING
                || status == DownloadManager.STATUS_PAUSED;
    }

    /** The DownloadManager said a download ended (UpdateReceiver): verify on IO, then run done. */
    static void downloadCompleteAsync(final Context c, final long id, final Runnable done) {
        IO.execute(new Runnable() {
            @Override
            public void run() {
                try {
                    downloadComplete(c, id);
                } catch (RuntimeException e) {
                    Log.e(TAG, "update verification failed: " + e);
                    failed(c, e.toString());
                } finally {
                    done.run();
                }
            }
        });
    }

    /** The DownloadManager said a download ended. */
    static void downloadComplete(Context c, long id) {
        SharedPreferences p = prefs(c);
        if (id < 0 || id != p.getLong("download_id", -2)) {
            return; // not ours
        }
        if (status(c, id) != DownloadManager.STATUS_SUCCESSFUL) {
            Log.w(TAG, "update download " + id + " failed (status " + status(c, id) + ")");
            refuse(c, "download failed");
            return;
        }
        if (verifyAndOpen(c, p.getBoolean("open_after", false))) {
            Log.i(TAG, "update verified and ready");
        }
    }

    /** Verifies the downloaded file; on success state ready (and the installer if asked), else failed. */
    private static boolean verifyAndOpen(Context c, boolean open) {
        SharedPreferences p = prefs(c);
        File f = downloadedFile(c, p.getLong("download_id", -1));
        if (f == null) {
            refuse(c, "downloaded file missing");
            return false;
        }
        UpdateVerifier v = new UpdateVerifier(c.getPackageName(), ownVersionCode(c), VersionHandler.signerSha256(c));
        UpdateVerifier.Result r = v.verify(f, p.getLong("size", -1), p.getString("sha256", null));
        if (!r.ok()) {
            Log.w(TAG, "update refused, " + r.reason + ": " + r.message + " — " + f + " deleted, not installed");
            refuse(c, r.reason);
            return false;
        }
        p.edit().putString("state", UpdateRelease.READY).apply();
        if (open) {
            openInstaller(c);
        }
        return true;
    }

    /** After an unexpected error: the download (if any) goes, the state says failed. */
    private static void failed(Context c, String why) {
        try {
            refuse(c, why);
        } catch (RuntimeException e) {
            prefs(c).edit().putString("state", UpdateRelease.FAILED).remove("download_id").apply();
        }
    }

    private static void refuse(Context c, String why) {
        SharedPreferences p = prefs(c);
        long id = p.getLong("download_id", -1);
        File f = downloadedFile(c, id);
        if (id >= 0) {
            ((DownloadManager) c.getSystemService(Context.DOWNLOAD_SERVICE)).remove(id);
        }
        if (f != null && f.exists() && !f.delete()) {
            Log.w(TAG, "could not delete " + f);
        }
        p.edit().putString("state", UpdateRelease.FAILED).putString("failed_reason", why).remove("download_id").apply();
    }

    private static void openInstaller(Context c) {
        DownloadManager dm = (DownloadManager) c.getSystemService(Context.DOWNLOAD_SERVICE);
        Uri uri = dm.getUriForDownloadedFile(prefs(c).getLong("download_id", -1));
        if (uri == null) {
            refuse(c, "download gone");
            return;
        }
        Intent i = new Intent(Intent.ACTION_INSTALL_PACKAGE).setDataAndType(uri, APK_TYPE)
                .addFlags(Intent.FLAG_GRANT_READ_URI_PERMISSION | Intent.FLAG_ACTIVITY_NEW_TASK);
        try {
            c.startActivity(i);
            Log.i(TAG, "system installer opened for " + uri);
        } catch (RuntimeException e) {
            Log.w(TAG, "installer not opened: " + e);
        }
    }

    private static int status(Context c, long id) {
        if (id < 0) {
            return -1;
        }
        DownloadManager dm = (DownloadManager) c.getSystemService(Context.DOWNLOAD_SERVICE);
        Cursor cur = dm.query(new DownloadManager.Query().setFilterById(id));
        try {
            return cur != null && cur.moveToFirst()
                    ? cur.getInt(cur.getColumnIndex(DownloadManager.COLUMN_STATUS)) : -1;
        } finally {
            if (cur != null) {
                cur.close();
            }
        }
    }

    private static File downloadedFile(Context c, long id) {
        if (id < 0) {
            return null;
        }
        DownloadManager dm = (DownloadManager) c.getSystemService(Context.DOWNLOAD_SERVICE);
        Cursor cur = dm.query(new DownloadManager.Query().setFilterById(id));
        try {
            if (cur == null || !cur.moveToFirst()) {
                return null;
            }
            String local = cur.getString(cur.getColumnIndex(DownloadManager.COLUMN_LOCAL_URI));
            if (local == null) {
                return null;
            }
            Uri u = Uri.parse(local);
            if (!"file".equals(u.getScheme()) || u.getPath() == null) {
                return null;
            }
            File f = new File(u.getPath());
            File dir = c.getExternalFilesDir(Environment.DIRECTORY_DOWNLOADS);
            // Only a file in our own download folder is ever considered.
            if (dir == null || !f.getCanonicalFile().getParentFile().equals(dir.getCanonicalFile())) {
                Log.w(TAG, "download outside our folder ignored: " + f);
                return null;
            }
            return f;
        } catch (IOException e) {
            return null;
        } finally {
            if (cur != null) {
                cur.close();
            }
        }
    }

    static int ownVersionCode(Context c) {
        try {
            PackageInfo info = c.getPackageManager().getPackageInfo(c.getPackageName(), 0);
            return info.versionCode;
        } catch (PackageManager.NameNotFoundException e) {
            return 0;
        }
    }

    private static SharedPreferences prefs(Context c) {
        return c.getApplicationContext().getSharedPreferences(PREFS, Context.MODE_PRIVATE);
    }

    private static JSONObject state(String s) {
        try {
            return new JSONObject().put("state", s);
        } catch (JSONException e) {
            throw new IllegalStateException(e);
        }
    }
}
