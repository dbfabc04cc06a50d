package com.daidaitong.officer;

import android.content.Context;
import android.content.pm.PackageInfo;
import android.content.pm.PackageManager;
import android.content.pm.Signature;

/** version: the app's package, versionCode/versionName and its signing certificate's SHA-256. */
final class VersionHandler implements Router.Handler {
    private final Context context;

    VersionHandler(Context context) {
        this.context = context.getApplicationContext();
    }

    @Override
    public void handle(Protocol.Request req, Router.Reply reply) {
        try {
            PackageInfo info = context.getPackageManager().getPackageInfo(context.getPackageName(), 0);
            reply.ok(Results.version(context.getPackageName(), info.versionCode,
                info.versionName == null ? "" : info.versionName, signerSha256(context)));
        } catch (PackageManager.NameNotFoundException e) {
            reply.fail(Protocol.INTERNAL, "own package not found");
        }
    }

    /** Lower-case hex SHA-256 of this app's (first) signing certificate, or null if unreadable. */
    @SuppressWarnings("deprecation")
    public static String signerSha256(Context context) {
        try {
            PackageInfo info = context.getPackageManager().getPackageInfo(context.getPackageName(), PackageManager.GET_SIGNATURES);
            Signature[] sigs = info.signatures;
            if (sigs == null || sigs.length == 0) return null;
            return Results.sha256Hex(sigs[0].toByteArray());
        } catch (PackageManager.NameNotFoundException e) {
            return null;
        }
    }
}
