package com.daidaitong.officer;

import android.Manifest;
import android.content.Context;
import android.content.SharedPreferences;
import android.content.pm.PackageManager;
import android.os.Build;
import android.telephony.SubscriptionInfo;
import android.telephony.SubscriptionManager;
import android.telephony.TelephonyManager;
import android.util.Log;

import java.util.List;
import java.util.UUID;

/**
 * identity: the SIM as far as Android tells it, every refused field null and listed with its
 * reason; a stable installation id; whether the SIM differs from the one seen at the last call.
 */
final class IdentityHandler implements Router.Handler {
    static final String PREF_INSTALLATION_ID = "installation_id";
    static final String PREF_LAST_SIM = "last_sim";

    private final Context context;

    IdentityHandler(Context context) {
        this.context = context.getApplicationContext();
    }

    @Override
    public void handle(Protocol.Request req, Router.Reply reply) {
        reply.ok(report(context, true));
    }

    /** The identity result; remember: keep this SIM as "the last seen" (requests yes, events no). */
    static synchronized org.json.JSONObject report(Context context, boolean remember) {
        SharedPreferences prefs = context.getSharedPreferences(MainActivity.PREFS, Context.MODE_PRIVATE);
        Results.SimReading r = read(context);
        String last = prefs.getString(PREF_LAST_SIM, null);
        boolean changed = Results.simChanged(last, r);
        if (remember) prefs.edit().putString(PREF_LAST_SIM, Results.remember(last, r)).apply();
        return Results.identity(installationId(prefs), r, changed, Build.VERSION.SDK_INT, Build.MODEL);
    }

    static String installationId(SharedPreferences prefs) {
        String id = prefs.getString(PREF_INSTALLATION_ID, null);
        if (id == null) {
            id = UUID.randomUUID().toString();
            prefs.edit().putString(PREF_INSTALLATION_ID, id).commit();
        }
        return id;
    }

    static Results.SimReading read(Context context) {
        Results.SimReading r = new Results.SimReading();
        TelephonyManager tm = (TelephonyManager) context.getSystemService(Context.TELEPHONY_SERVICE);
        if (tm == null) {
            r.present = false;
            r.state = "absent";
            return r;
        }
        int state = tm.getSimState();
        switch (state) {
            case TelephonyManager.SIM_STATE_READY:
                r.state = "ready";
                break;
            case TelephonyManager.SIM_STATE_ABSENT:
                r.state = "absent";
                break;
            case TelephonyManager.SIM_STATE_PIN_REQUIRED:
            case TelephonyManager.SIM_STATE_PUK_REQUIRED:
            case TelephonyManager.SIM_STATE_NETWORK_LOCKED:
                r.state = "locked";
                break;
            default:
                r.state = "unknown";
        }
        r.present = state != TelephonyManager.SIM_STATE_ABSENT && state != TelephonyManager.SIM_STATE_UNKNOWN;
        if (!r.present) return r;
        if (state == TelephonyManager.SIM_STATE_READY) {
            r.operator = tm.getSimOperator();
            r.operatorName = tm.getSimOperatorName();
        }
        boolean allowed = context.checkSelfPermission(Manifest.permission.READ_PHONE_STATE) == PackageManager.PERMISSION_GRANTED;
        if (!allowed) {
            r.refuse("imsi", Results.PERMISSION_DENIED).refuse("serial", Results.PERMISSION_DENIED)
                .refuse("line_number", Results.PERMISSION_DENIED).refuse("subscription_id", Results.PERMISSION_DENIED);
            return r;
        }
        // Android 10 and later refuse the IMSI and the SIM serial to ordinary apps (SecurityException).
        if (Build.VERSION.SDK_INT >= 29) {
            r.refuse("imsi", Results.IDENTIFIERS_RESTRICTED).refuse("serial", Results.IDENTIFIERS_RESTRICTED);
        } else {
            try {
                r.imsi = tm.getSubscriberId();
            } catch (SecurityException e) {
                r.refuse("imsi", Results.IDENTIFIERS_RESTRICTED);
            }
            try {
                r.serial = tm.getSimSerialNumber();
            } catch (SecurityException e) {
                r.refuse("serial", Results.IDENTIFIERS_RESTRICTED);
            }
        }
        try {
            r.lineNumber = tm.getLine1Number();
        } catch (SecurityException e) {
            // Android 11 and later ask READ_PHONE_NUMBERS for it.
            r.refuse("line_number", Results.PERMISSION_DENIED);
        }
        try {
            List<SubscriptionInfo> subs = SubscriptionManager.from(context).getActiveSubscriptionInfoList();
            if (subs != null && !subs.isEmpty()) {
                SubscriptionInfo first = subs.get(0);
                for (SubscriptionInfo s : subs) {
                    if (s.getSimSlotIndex() < first.getSimSlotIndex()) first = s;
                }
                r.subscriptionId = first.getSubscriptionId();
            }
        } catch (SecurityException e) {
            r.refuse("subscription_id", Results.PERMISSION_DENIED);
        } catch (RuntimeException e) {
            Log.w(MainActivity.TAG, "subscriptions unreadable: " + e);
        }
        return r;
    }
}
