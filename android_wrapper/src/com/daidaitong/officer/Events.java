package com.daidaitong.officer;

import org.json.JSONObject;

/**
 * Where the app's unsolicited events go ({"v":1,"type":"event","event":…,"data":…}). Callable
 * from any thread; an event is dropped (one log line) when no page holds the channel.
 */
public interface Events {
    void send(String event, JSONObject data);
}
