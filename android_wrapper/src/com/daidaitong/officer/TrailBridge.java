package com.daidaitong.officer;

import android.Manifest;
import android.content.Context;
import android.content.pm.PackageManager;
import android.util.Log;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;

import org.json.JSONArray;

/** trail.start / trail.stop / trail.take / trail.ack (PROTOCOL.md): the page's side of the trail. */
final class TrailBridge {
    /** Journal reads and writes (fsync) off the main thread, one at a time, with the service's. */
    private static final ExecutorService IO = TrailService.IO;

    private TrailBridge() {
    }

    static void register(Router router, Context context) {
        final Context app = context.getApplicationContext();
        router.register("trail.start", new Router.Handler() {
            @Override
            public void handle(Protocol.Request req, Router.Reply reply) {
                TrailSchedule s;
                try {
                    s = TrailSchedule.parse(req.args.optInt("interval_min"), req.args.optString("hours"));
                } catch (IllegalArgumentException e) {
                    reply.fail(Protocol.BAD_ARGS, e.getMessage());
                    return;
                }
                if (app.checkSelfPermission(Manifest.permission.ACCESS_FINE_LOCATION)
                        != PackageManager.PERMISSION_GRANTED) {
                    reply.fail(Protocol.PERMISSION_DENIED, "location permission not granted");
                    return;
                }
                TrailService.start(app, s);
                Log.i(TrailService.TAG, "trail started: " + s.describe());
                reply.ok(TrailJson.started(s));
            }
        });
        router.register("trail.stop", new Router.Handler() {
            @Override
            public void handle(Protocol.Request req, Router.Reply reply) {
                TrailService.stop(app);
                Log.i(TrailService.TAG, "trail stopped");
                reply.ok(TrailJson.stopped());
            }
        });
        router.register("trail.take", new Router.Handler() {
            @Override
            public void handle(final Protocol.Request req, final Router.Reply reply) {
                IO.execute(new Runnable() {
                    @Override
                    public void run() {
                        try {
                            reply.ok(TrailJson.points(TrailService.store(app).take(req.args.optInt("max", 500))));
                        } catch (IOException | RuntimeException e) {
                            Log.e(TrailService.TAG, "trail.take: " + e);
                            reply.fail(Protocol.INTERNAL, "trail store unreadable");
                        }
                    }
                });
            }
        });
        router.register("trail.ack", new Router.Handler() {
            @Override
            public void handle(final Protocol.Request req, final Router.Reply reply) {
                IO.execute(new Runnable() {
                    @Override
                    public void run() {
                        JSONArray a = req.args.optJSONArray("uuids");
                        List<String> uuids = new ArrayList<String>();
                        for (int i = 0; a != null && i < a.length(); i++) {
                            uuids.add(a.optString(i));
                        }
                        try {
                            reply.ok(TrailJson.removed(TrailService.store(app).ack(uuids)));
                        } catch (IOException | RuntimeException e) {
                            Log.e(TrailService.TAG, "trail.ack: " + e);
                            reply.fail(Protocol.INTERNAL, "trail store not writable");
                        }
                    }
                });
            }
        });
    }
}
