package com.daidaitong.officer;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import org.junit.Test;

/** Which server address the app accepts, and what counts as the server's origin. */
public class OriginPolicyTest {
    static String server(String typed, boolean debug) throws OriginPolicy.Refused {
        return OriginPolicy.parseServer(typed, debug).toString();
    }

    static String refused(String typed, boolean debug) {
        try {
            fail("accepted " + typed + " as " + OriginPolicy.parseServer(typed, debug));
            return null;
        } catch (OriginPolicy.Refused e) {
            return e.reason;
        }
    }

    @Test
    public void httpsAddressesAreNormalisedToTheirOrigin() throws Exception {
        assertEquals("https://loans.example.cn", server("https://loans.example.cn/m/?x=1#top", false));
        assertEquals("https://loans.example.cn", server("  HTTPS://Loans.Example.CN:443/ ", false));
        assertEquals("https://loans.example.cn:8443", server("https://loans.example.cn:8443", false));
        assertEquals("https://loans.example.cn", server("loans.example.cn", false));
        assertEquals("https://xn--io3aa.cn", server("https://贷贷.cn", false));
        assertEquals("https://loans.example.cn", server("https://loans.example.cn.", false));
    }

    @Test
    public void releaseBuildsTakeHttpsOnly() {
        for (String s : new String[] {"http://127.0.0.1:5000", "http://192.168.1.20", "http://loans.example.cn",
            "ftp://loans.example.cn", "javascript:alert(1)", "file:///sdcard/x.html", "content://x/y", "data:text/html,hi"}) {
            String reason = refused(s, false);
            assertTrue(s + " → " + reason, "not_https".equals(reason) || "malformed".equals(reason));
        }
    }

    @Test
    public void debugBuildsTakeHttpOnlyForThisMachineAndTheLan() throws Exception {
        for (String s : new String[] {"http://127.0.0.1:5000", "http://localhost:5231", "http://10.0.2.2:5000",
            "http://10.1.2.3", "http://172.16.0.1", "http://172.31.255.254", "http://192.168.1.20:8000"}) {
            assertEquals(s, server(s, true));
        }
        assertEquals("http://127.0.0.1", server("http://127.0.0.1:80/m/", true));
        for (String s : new String[] {"http://172.15.0.1", "http://172.32.0.1", "http://8.8.8.8", "http://192.169.0.1",
            "http://loans.example.cn", "http://010.0.0.1", "http://10.0.0", "http://192.168.1.256", "http://0x7f.0.0.1",
            "http://127.0.0.1.evil.example", "http://localhost.evil.example"}) {
            assertEquals(s, "not_https", refused(s, true));
        }
    }

    @Test
    public void malformedAddressesAreRefused() {
        for (String s : new String[] {"", "   ", null, "https://", "https://user:pw@loans.example.cn",
            "https://loans.example.cn@evil.example", "https://loans example.cn", "https://loans.example.cn:0",
            "https://loans.example.cn:99999"}) {
            String reason = refused(s, true);
            assertTrue(s + " → " + reason, "malformed".equals(reason) || "empty".equals(reason));
        }
    }

    @Test
    public void sameOriginMeansSameSchemeHostAndPort() throws Exception {
        OriginPolicy p = new OriginPolicy(OriginPolicy.parseServer("https://loans.example.cn", false));
        assertEquals("https://loans.example.cn/m/", p.startUrl());
        assertTrue(p.sameOrigin("https://loans.example.cn/m/#/applications"));
        assertTrue(p.sameOrigin("https://LOANS.example.cn:443/api/v1/device"));
        assertFalse(p.sameOrigin("http://loans.example.cn/m/"));
        assertFalse(p.sameOrigin("https://loans.example.cn:8443/m/"));
        assertFalse(p.sameOrigin("https://evil.loans.example.cn/m/"));
        assertFalse(p.sameOrigin("https://loans.example.cn.evil.example/m/"));
        assertFalse(p.sameOrigin("https://loans.example.cn@evil.example/m/"));
        assertFalse(p.sameOrigin("https://evil.example/?https://loans.example.cn"));
        assertFalse(p.sameOrigin("about:blank"));
        assertFalse(p.sameOrigin("data:text/html,https://loans.example.cn"));
        assertFalse(p.sameOrigin("javascript:location='https://loans.example.cn'"));
        assertFalse(p.sameOrigin(null));
        assertFalse(p.sameOrigin("not a url at all"));
    }

    @Test
    public void aDebugServerOnAPortIsItsOwnOrigin() throws Exception {
        OriginPolicy p = new OriginPolicy(OriginPolicy.parseServer("http://10.0.2.2:5000", true));
        assertTrue(p.sameOrigin("http://10.0.2.2:5000/m/"));
        assertFalse(p.sameOrigin("http://10.0.2.2/m/"));
        assertFalse(p.sameOrigin("http://10.0.2.2:5001/m/"));
    }

    @Test
    public void theSetupLinkCarriesTheServer() {
        assertEquals("https://loans.example.cn/m/",
            OriginPolicy.setupLinkServer("daidaitong-officer://setup?server=https%3A%2F%2Floans.example.cn%2Fm%2F"));
        assertEquals("https://loans.example.cn",
            OriginPolicy.setupLinkServer("daidaitong-officer://setup?x=1&server=https%3A%2F%2Floans.example.cn"));
        assertNull(OriginPolicy.setupLinkServer("daidaitong-officer://other?server=https%3A%2F%2Fx.cn"));
        assertNull(OriginPolicy.setupLinkServer("https://setup?server=https%3A%2F%2Fx.cn"));
        assertNull(OriginPolicy.setupLinkServer("daidaitong-officer://setup"));
        assertNull(OriginPolicy.setupLinkServer("daidaitong-officer://setup?server=%ZZ"));
        assertNull(OriginPolicy.setupLinkServer(null));
    }
}
