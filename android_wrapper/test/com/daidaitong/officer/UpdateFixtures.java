package com.daidaitong.officer;

import static org.junit.Assert.assertTrue;

import java.io.BufferedReader;
import java.io.File;
import java.io.FileReader;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;

/** The real APKs make-fixtures.sh built (system property fixtures.dir) and what aapt/apksigner read in them. */
final class UpdateFixtures {
    final File dir;
    final Map<String, String[]> expected = new HashMap<String, String[]>();

    UpdateFixtures() throws IOException {
        String d = System.getProperty("fixtures.dir");
        assertTrue("run with -Dfixtures.dir=BUILD_DIR/fixtures (android_wrapper/test/make-fixtures.sh)", d != null);
        dir = new File(d);
        BufferedReader r = new BufferedReader(new FileReader(new File(dir, "expected.txt")));
        try {
            String line;
            while ((line = r.readLine()) != null) {
                String[] f = line.trim().split(" ");
                expected.put(f[0], f);
            }
        } finally {
            r.close();
        }
    }

    File apk(String name) {
        return new File(dir, name);
    }

    String ownPackage() {
        return expected.get("own")[1];
    }

    int ownVersionCode() {
        return Integer.parseInt(expected.get("own")[2]);
    }

    String ownSigner() {
        return expected.get("own-signer")[1];
    }

    String strangerSigner() {
        return expected.get("stranger-signer")[1];
    }
}
