package com.daidaitong.officer;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.json.JSONObject;
import org.junit.Test;

/** One reply for every message, whatever the message or the handler does. */
public class RouterTest {
    final List<String> warnings = Collections.synchronizedList(new ArrayList<String>());
    final List<String> posted = Collections.synchronizedList(new ArrayList<String>());
    final Router router = new Router(new Router.Log() {
        @Override
        public void warn(String message) {
            warnings.add(message);
        }
    });
    final Router.Out out = new Router.Out() {
        @Override
        public void post(String message) {
            posted.add(message);
        }
    };

    JSONObject only() throws Exception {
        assertEquals(posted.toString(), 1, posted.size());
        return new JSONObject(posted.get(0));
    }

    @Test
    public void aRegisteredHandlerAnswersWithItsResult() throws Exception {
        router.register("network", new Router.Handler() {
            @Override
            public void handle(Protocol.Request req, Router.Reply reply) {
                reply.ok(Results.network("wifi", false, true));
            }
        });
        router.dispatch("{\"v\":1,\"id\":\"q3\",\"type\":\"network\"}", out);
        assertEquals("{\"v\":1,\"id\":\"q3\",\"ok\":true,\"result\":{\"type\":\"wifi\",\"metered\":false,\"connected\":true}}", posted.get(0));
    }

    @Test
    public void aBadMessageIsAnsweredWithTheProtocolsErrorAndLogged() throws Exception {
        router.dispatch("[1,2,3]", out);
        JSONObject r = only();
        assertEquals("bad_message", r.getJSONObject("error").getString("code"));
        assertEquals(JSONObject.NULL, r.get("id"));
        assertEquals(1, warnings.size());
    }

    @Test
    public void aKnownTypeWithoutHandlerIsUnavailable() throws Exception {
        router.dispatch("{\"v\":1,\"id\":\"q5\",\"type\":\"trail.stop\"}", out);
        JSONObject r = only();
        assertEquals("q5", r.getString("id"));
        assertEquals("unavailable", r.getJSONObject("error").getString("code"));
    }

    @Test
    public void aHandlerThatThrowsIsAnInternalErrorNotACrash() throws Exception {
        router.register("identity", new Router.Handler() {
            @Override
            public void handle(Protocol.Request req, Router.Reply reply) {
                throw new IllegalStateException("telephony went away");
            }
        });
        router.dispatch("{\"v\":1,\"id\":\"q1\",\"type\":\"identity\"}", out);
        assertEquals("internal", only().getJSONObject("error").getString("code"));
    }

    @Test
    public void onlyTheFirstReplyIsSentEvenFromManyThreads() throws Exception {
        final CountDownLatch go = new CountDownLatch(1);
        final CountDownLatch done = new CountDownLatch(8);
        router.register("location", new Router.Handler() {
            @Override
            public void handle(Protocol.Request req, final Router.Reply reply) {
                for (int i = 0; i < 8; i++) {
                    final int n = i;
                    new Thread(new Runnable() {
                        @Override
                        public void run() {
                            try {
                                go.await();
                                if (n % 2 == 0) reply.ok(new JSONObject());
                                else reply.fail(Protocol.TIMEOUT, "late");
                            } catch (InterruptedException e) {
                                Thread.currentThread().interrupt();
                            } finally {
                                done.countDown();
                            }
                        }
                    }).start();
                }
            }
        });
        router.dispatch("{\"v\":1,\"id\":\"q2\",\"type\":\"location\"}", out);
        go.countDown();
        assertTrue(done.await(10, TimeUnit.SECONDS));
        assertEquals("q2", only().getString("id"));
        assertEquals(7, warnings.size());
    }

    @Test
    public void onlyProtocolTypesCanBeRegistered() {
        try {
            router.register("camera.zoom", new Router.Handler() {
                @Override
                public void handle(Protocol.Request req, Router.Reply reply) {}
            });
            fail("registered an unknown type");
        } catch (IllegalArgumentException expected) {
            assertTrue(expected.getMessage().contains("camera.zoom"));
        }
    }
}
