package com.daidaitong.officer;

import android.content.BroadcastReceiver;
import android.content.Context;
import android.content.Intent;
import android.content.IntentFilter;
import android.net.ConnectivityManager;
import android.net.Network;
import android.net.NetworkCapabilities;
import android.net.NetworkRequest;
import android.util.Log;

import org.json.JSONObject;

/**
 * While the page is shown: sim_changed when the SIM is removed, inserted or exchanged, and
 * network_changed when the default network changes (PROTOCOL.md, "Events").
 */
final class DeviceWatch {
    /** Broadcast by the telephony service (TelephonyIntents.ACTION_SIM_STATE_CHANGED, not in the public SDK). */
    static final String ACTION_SIM_STATE_CHANGED = "android.intent.action.SIM_STATE_CHANGED";

    private final Context context;
    private final Events events;
    private BroadcastReceiver simReceiver;
    private ConnectivityManager.NetworkCallback netCallback;
    private String lastSimKey;
    private String lastNetwork;

    DeviceWatch(Context context, Events events) {
        this.context = context.getApplicationContext();
        this.events = events;
    }

    void start() {
        stop();
        try {
            lastSimKey = simKey(IdentityHandler.report(context, false));
        } catch (RuntimeException e) {
            Log.w(MainActivity.TAG, "SIM unreadable: " + e);
        }
        simReceiver = new BroadcastReceiver() {
            @Override
            public void onReceive(Context c, Intent intent) {
                try {
                    JSONObject identity = IdentityHandler.report(context, false);
                    String key = simKey(identity);
                    if (key.equals(lastSimKey)) return; // the same SIM, another step of its loading
                    lastSimKey = key;
                    events.send("sim_changed", identity);
                } catch (RuntimeException e) {
                    Log.w(MainActivity.TAG, "SIM state unreadable: " + e);
                }
            }
        };
        context.registerReceiver(simReceiver, new IntentFilter(ACTION_SIM_STATE_CHANGED));

        ConnectivityManager cm = (ConnectivityManager) context.getSystemService(Context.CONNECTIVITY_SERVICE);
        if (cm == null) return;
        lastNetwork = NetworkHandler.read(context).toString();
        netCallback = new ConnectivityManager.NetworkCallback() {
            @Override
            public void onAvailable(Network network) {
                changed();
            }

            @Override
            public void onLost(Network network) {
                changed();
            }

            @Override
            public void onCapabilitiesChanged(Network network, NetworkCapabilities caps) {
                changed();
            }
        };
        try {
            cm.registerNetworkCallback(new NetworkRequest.Builder()
                .addCapability(NetworkCapabilities.NET_CAPABILITY_INTERNET).build(), netCallback);
        } catch (RuntimeException e) {
            Log.w(MainActivity.TAG, "network callback refused: " + e);
            netCallback = null;
        }
    }

    private synchronized void changed() {
        JSONObject now = NetworkHandler.read(context);
        String text = now.toString();
        if (text.equals(lastNetwork)) return;
        lastNetwork = text;
        events.send("network_changed", now);
    }

    /** What makes two identity reports the same SIM for the event: presence, state and what identifies it. */
    static String simKey(JSONObject identity) {
        JSONObject sim = identity.optJSONObject("sim");
        if (sim == null) return "";
        return sim.optBoolean("present") + "|" + sim.optString("state") + "|" + sim.opt("imsi") + "|" + sim.opt("serial")
            + "|" + sim.opt("subscription_id") + "|" + sim.opt("operator");
    }

    void stop() {
        if (simReceiver != null) {
            try {
                context.unregisterReceiver(simReceiver);
            } catch (IllegalArgumentException e) {
                Log.w(MainActivity.TAG, "SIM receiver was not registered");
            }
            simReceiver = null;
        }
        if (netCallback != null) {
            ConnectivityManager cm = (ConnectivityManager) context.getSystemService(Context.CONNECTIVITY_SERVICE);
            try {
                cm.unregisterNetworkCallback(netCallback);
            } catch (RuntimeException e) {
                Log.w(MainActivity.TAG, "network callback was not registered");
            }
            netCallback = null;
        }
    }
}
