package com.daidaitong.officer;

import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.fail;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;

import org.junit.Test;

/** The classes tested here stay free of android.*, and the tests really run without android.jar. */
public class PurityTest {
    static final String[] PURE = {"Protocol", "OriginPolicy", "Router", "Events", "Results", "WebPolicy", "FixRace",
        "TrailStore", "TrailPoint", "TrailSchedule", "TrailJson", "UpdateVerifier", "UpdateApkManifest", "UpdateRelease"};

    @Test
    public void thePureClassesImportNothingFromAndroid() throws Exception {
        String src = System.getProperty("src.dir");
        assertNotNull("system property src.dir (set by scripts/android-test.sh) is missing", src);
        for (String name : PURE) {
            File f = new File(src, "com/daidaitong/officer/" + name + ".java");
            String text = new String(Files.readAllBytes(f.toPath()), StandardCharsets.UTF_8);
            assertFalse(name + " imports android.*", text.contains("import android."));
            assertFalse(name + " names android.*", text.matches("(?s).*\\bandroid\\.[a-z]+\\.[A-Z].*"));
        }
    }

    @Test
    public void androidJarIsNotOnTheRuntimeClasspath() {
        for (String cls : new String[] {"android.webkit.WebView", "android.content.Context", "android.util.Log"}) {
            try {
                Class.forName(cls);
                fail(cls + " is loadable: the tests would not prove the classes pure");
            } catch (ClassNotFoundException expected) {
                // as it should be
            }
        }
    }

    @Test
    public void orgJsonIsTheRealOneNotAndroidJarsStubs() throws Exception {
        // android.jar's org.json throws "Stub!" from every method.
        assertNotNull(new org.json.JSONObject("{\"a\":1}").toString());
    }
}
