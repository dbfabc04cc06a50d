package com.daidaitong.officer;

import android.net.Uri;
import android.os.Handler;
import android.os.Looper;
import android.util.Log;
import android.webkit.WebMessage;
import android.webkit.WebMessagePort;
import android.webkit.WebView;

import org.json.JSONObject;

/**
 * The origin-locked channel to the page (PROTOCOL.md, "The channel"). After each page load on the
 * server's origin a new WebMessageChannel is made; one port is posted to the main frame with
 * postWebMessage(hello, serverOrigin), which Android delivers only if the main frame is on that
 * origin. Every message is re-checked against WebView.getUrl() before it is read. No
 * addJavascriptInterface anywhere.
 */
public final class Bridge implements Events {
    static final String TAG = "DaidaitongBridge";

    private static final Handler MAIN = new Handler(Looper.getMainLooper());
    private static volatile Bridge live;

    private final WebView web;
    private final OriginPolicy policy;
    private final Router router;
    private final String hello;
    private volatile WebMessagePort port; // written on the main thread only
    private boolean offerDue = true;

    public Bridge(WebView web, OriginPolicy policy, Router router, String hello) {
        this.web = web;
        this.policy = policy;
        this.router = router;
        this.hello = hello;
    }

    /** True while a page on the server's origin holds an open channel (any thread). */
    public static boolean hasPage() {
        Bridge b = live;
        return b != null && b.port != null;
    }

    /** Events for code without the Activity (services, jobs): go to the live page's channel, or are dropped. */
    public static Events events() {
        return new Events() {
            @Override
            public void send(String event, JSONObject data) {
                Bridge b = live;
                if (b == null) {
                    Log.i(TAG, "event " + event + " dropped: no page");
                    return;
                }
                b.send(event, data);
            }
        };
    }

    /** onPageStarted (main thread): the old page's channel dies with it; one new offer is due. */
    public void pageStarted() {
        closePort();
        offerDue = true;
    }

    /**
     * onPageFinished (main thread): offers a fresh channel once per page load, if on our origin.
     * (onPageFinished may come more than once for one document; the page accepts only the first
     * hello, so a second offer would leave it talking on a closed port.)
     */
    public void pageFinished(String url) {
        if (!offerDue) return;
        offerDue = false;
        closePort();
        if (!policy.sameOrigin(url) || !policy.sameOrigin(web.getUrl())) {
            Log.i(TAG, "no channel offered: page not on the server's origin");
            return;
        }
        WebMessagePort[] ports;
        try {
            ports = web.createWebMessageChannel();
        } catch (RuntimeException e) {
            Log.w(TAG, "createWebMessageChannel failed: " + e);
            return;
        }
        final WebMessagePort mine = ports[0];
        mine.setWebMessageCallback(new WebMessagePort.WebMessageCallback() {
            @Override
            public void onMessage(WebMessagePort p, WebMessage message) {
                receive(mine, message);
            }
        }, MAIN);
        port = mine;
        live = this;
        try {
            web.postWebMessage(new WebMessage(hello, new WebMessagePort[] {ports[1]}), Uri.parse(policy.server().toString()));
        } catch (RuntimeException e) {
            Log.w(TAG, "postWebMessage failed: " + e);
            closePort();
        }
    }

    private void receive(final WebMessagePort from, WebMessage message) {
        if (from != port) {
            Log.w(TAG, "message on an old channel dropped");
            return;
        }
        if (!policy.sameOrigin(web.getUrl())) {
            Log.w(TAG, "message dropped: the page is no longer on the server's origin");
            return;
        }
        String text = message == null ? null : message.getData();
        router.dispatch(text, new Router.Out() {
            @Override
            public void post(final String reply) {
                runOnMain(new Runnable() {
                    @Override
                    public void run() {
                        postTo(from, reply);
                    }
                });
            }
        });
    }

    @Override
    public void send(final String event, final JSONObject data) {
        final String text = Protocol.event(event, data);
        runOnMain(new Runnable() {
            @Override
            public void run() {
                if (port == null) {
                    Log.i(TAG, "event " + event + " dropped: no channel");
                    return;
                }
                postTo(port, text);
            }
        });
    }

    private void postTo(WebMessagePort p, String text) {
        if (p != port) {
            Log.i(TAG, "reply dropped: the page has reloaded");
            return;
        }
        if (!policy.sameOrigin(web.getUrl())) {
            Log.w(TAG, "reply dropped: the page is no longer on the server's origin");
            return;
        }
        try {
            p.postMessage(new WebMessage(text));
        } catch (RuntimeException e) {
            Log.w(TAG, "postMessage failed: " + e);
        }
    }

    private static void runOnMain(Runnable r) {
        if (Looper.myLooper() == Looper.getMainLooper()) r.run();
        else MAIN.post(r);
    }

    private void closePort() {
        if (port != null) {
            try {
                port.close();
            } catch (RuntimeException e) {
                Log.w(TAG, "close failed: " + e);
            }
            port = null;
        }
    }

    /** The Activity is going away. */
    public void close() {
        closePort();
        if (live == this) live = null;
    }

    /** Router's log lines go to logcat. */
    public static Router.Log routerLog() {
        return new Router.Log() {
            @Override
            public void warn(String message) {
                Log.w(TAG, message);
            }
        };
    }
}
