package com.daidaitong.officer;

import android.content.Context;
import android.net.ConnectivityManager;
import android.net.Network;
import android.net.NetworkCapabilities;

import org.json.JSONObject;

/** network: the default network's type (wifi, cellular, ethernet, other, none), metered, connected. */
final class NetworkHandler implements Router.Handler {
    private final Context context;

    NetworkHandler(Context context) {
        this.context = context.getApplicationContext();
    }

    @Override
    public void handle(Protocol.Request req, Router.Reply reply) {
        reply.ok(read(context));
    }

    static JSONObject read(Context context) {
        ConnectivityManager cm = (ConnectivityManager) context.getSystemService(Context.CONNECTIVITY_SERVICE);
        if (cm == null) return Results.network("none", false, false);
        Network n = cm.getActiveNetwork();
        NetworkCapabilities caps = n == null ? null : cm.getNetworkCapabilities(n);
        if (caps == null) return Results.network("none", false, false);
        String type;
        if (caps.hasTransport(NetworkCapabilities.TRANSPORT_WIFI)) type = "wifi";
        else if (caps.hasTransport(NetworkCapabilities.TRANSPORT_CELLULAR)) type = "cellular";
        else if (caps.hasTransport(NetworkCapabilities.TRANSPORT_ETHERNET)) type = "ethernet";
        else type = "other";
        boolean connected = caps.hasCapability(NetworkCapabilities.NET_CAPABILITY_INTERNET);
        return Results.network(type, cm.isActiveNetworkMetered(), connected);
    }
}
