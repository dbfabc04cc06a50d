package com.daidaitong.officer;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.fail;

import org.junit.Test;

public class UpdateReleaseTest {
    private static final String SHA = "a3f1c2d4e5b6a7980c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b";

    private static String body(int code, int min, String url) {
        return "{\"version_code\":" + code + ",\"version_name\":\"1." + code + "\",\"size\":48213,\"sha256\":\""
                + SHA + "\",\"min_version_code\":" + min + ",\"url\":\"" + url + "\"}";
    }

    @Test
    public void readsTheServersReleaseAndResolvesARelativeUrl() {
        UpdateRelease r = UpdateRelease.parse(body(3, 2, "/android/daidaitong-officer-3.apk"), "https://ddt.example.cn/m/");
        assertEquals(3, r.versionCode);
        assertEquals("1.3", r.versionName);
        assertEquals(48213, r.size);
        assertEquals(SHA, r.sha256);
        assertEquals(2, r.minVersionCode);
        assertEquals("https://ddt.example.cn/android/daidaitong-officer-3.apk", r.url);
    }

    @Test
    public void theStateFollowsTheOneVersionRule() {
        UpdateRelease r = UpdateRelease.parse(body(3, 2, "/a.apk"), "https://ddt.example.cn");
        assertEquals(UpdateRelease.BLOCKED, UpdateRelease.state(1, r));
        assertEquals(UpdateRelease.AVAILABLE, UpdateRelease.state(2, r));
        assertEquals(UpdateRelease.UP_TO_DATE, UpdateRelease.state(3, r));
        assertEquals(UpdateRelease.UP_TO_DATE, UpdateRelease.state(4, r));
        assertEquals(UpdateRelease.UP_TO_DATE, UpdateRelease.state(4, null));
    }

    @Test
    public void aPlainHttpDownloadIsAcceptedOnlyFromTheServerItself() {
        assertEquals("http://192.168.1.20:5000/a.apk",
                UpdateRelease.parse(body(3, 1, "/a.apk"), "http://192.168.1.20:5000/m/").url);
        refused(body(3, 1, "http://elsewhere.example.com/a.apk"), "https://ddt.example.cn");
        refused(body(3, 1, "http://192.168.1.20:5001/a.apk"), "http://192.168.1.20:5000");
    }

    @Test
    public void malformedReleasesAreRefused() {
        refused("{}", "https://x.cn");
        refused("not json", "https://x.cn");
        refused(body(0, 0, "/a.apk"), "https://x.cn");
        refused(body(3, 1, "/a.apk").replace(SHA, "abc"), "https://x.cn");
        refused(body(3, 1, "/a.apk").replace("48213", "-5"), "https://x.cn");
        refused(body(3, 1, "javascript:alert(1)"), "https://x.cn");
    }

    private static void refused(String body, String base) {
        try {
            UpdateRelease.parse(body, base);
            fail("accepted " + body);
        } catch (IllegalArgumentException expected) {
            // refused with a reason for the log
        }
    }
}
