package com.daidaitong.officer;

import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import org.junit.Test;

public class WebPolicyTest {
    @Test
    public void captureInputsForImagesOpenTheCamera() {
        assertTrue(WebPolicy.opensCamera(true, new String[] {"image/*"}));
        assertTrue(WebPolicy.opensCamera(true, new String[] {"image/jpeg,image/png"}));
        assertTrue(WebPolicy.opensCamera(true, new String[] {"application/pdf, .JPG"}));
        assertTrue(WebPolicy.opensCamera(true, new String[] {""}));
        assertTrue(WebPolicy.opensCamera(true, new String[0]));
        assertTrue(WebPolicy.opensCamera(true, null));
    }

    @Test
    public void otherInputsOpenTheChooser() {
        assertFalse(WebPolicy.opensCamera(false, new String[] {"image/*"}));
        assertFalse(WebPolicy.opensCamera(true, new String[] {"application/pdf"}));
        assertFalse(WebPolicy.opensCamera(true, new String[] {".xlsx", "text/csv"}));
        assertFalse(WebPolicy.opensCamera(true, new String[] {"video/*"}));
    }

    @Test
    public void onlyHarmlessSchemesLeaveForAnotherApp() {
        assertTrue(WebPolicy.mayOpenOutside("https://map.baidu.com/?q=1"));
        assertTrue(WebPolicy.mayOpenOutside("http://example.cn"));
        assertTrue(WebPolicy.mayOpenOutside("tel:13800138000"));
        assertTrue(WebPolicy.mayOpenOutside("mailto:a@example.cn"));
        assertTrue(WebPolicy.mayOpenOutside("SMS:10086"));
        for (String bad : new String[] {"intent://scan/#Intent;scheme=zxing;end", "javascript:alert(1)", "file:///sdcard/a",
            "content://com.daidaitong.officer.capture/photo.jpg", "data:text/html,x", "daidaitong-officer://setup?server=x",
            "weixin://dl/business", "", ":", null, "https://", "https://user@evil.example/"}) {
            assertFalse(String.valueOf(bad), WebPolicy.mayOpenOutside(bad));
        }
    }
}
