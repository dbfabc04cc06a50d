package com.daidaitong.officer;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.util.Random;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

import org.junit.Test;

public class UpdateApkManifestTest {
    @Test
    public void readsPackageAndVersionCodeOfEveryFixtureAsAaptDoes() throws IOException {
        UpdateFixtures fx = new UpdateFixtures();
        int checked = 0;
        for (String name : fx.expected.keySet()) {
            if (!name.endsWith(".apk")) {
                continue;
            }
            String[] want = fx.expected.get(name);
            UpdateApkManifest m = UpdateApkManifest.readApk(fx.apk(name));
            assertEquals(name, want[1], m.packageName);
            assertEquals(name, Integer.parseInt(want[2]), m.versionCode);
            checked++;
        }
        assertEquals(7, checked);
    }

    @Test
    public void readsTheBuiltAppItself() throws IOException {
        UpdateFixtures fx = new UpdateFixtures();
        String apk = System.getProperty("apk.path");
        assertTrue("run with -Dapk.path=the built APK", apk != null);
        UpdateApkManifest m = UpdateApkManifest.readApk(new File(apk));
        assertEquals(fx.ownPackage(), m.packageName);
        assertEquals(fx.ownVersionCode(), m.versionCode);
        assertTrue(m.versionName != null && m.versionName.length() > 0);
        UpdateApkManifest newer = UpdateApkManifest.readApk(fx.apk("newer.apk"));
        assertEquals("fixture-" + newer.versionCode, newer.versionName);
    }

    @Test
    public void aTruncatedOrScrambledManifestIsAnIOExceptionNeverACrash() throws IOException {
        UpdateFixtures fx = new UpdateFixtures();
        byte[] good;
        ZipFile z = new ZipFile(fx.apk("newer.apk"));
        try {
            ZipEntry e = z.getEntry("AndroidManifest.xml");
            good = new byte[(int) e.getSize()];
            java.io.DataInputStream in = new java.io.DataInputStream(z.getInputStream(e));
            in.readFully(good);
            in.close();
        } finally {
            z.close();
        }
        assertEquals(2, UpdateApkManifest.parse(good).versionCode);
        long seed = System.nanoTime();
        System.out.println("UpdateApkManifestTest random seed: " + seed);
        Random rnd = new Random(seed);
        int refused = 0;
        for (int i = 0; i < 500; i++) {
            byte[] bad;
            if (i % 2 == 0) {
                bad = java.util.Arrays.copyOf(good, rnd.nextInt(good.length));
            } else {
                bad = good.clone();
                for (int k = 0; k < 8; k++) {
                    bad[rnd.nextInt(bad.length)] = (byte) rnd.nextInt(256);
                }
            }
            try {
                UpdateApkManifest.parse(bad);
            } catch (IOException expected) {
                refused++;
            }
        }
        assertTrue(refused > 200); // every truncation at least; no other exception escaped
    }

    @Test
    public void aFileThatIsNotAnApkIsRefusedWithAReason() throws IOException {
        File f = Files.createTempFile("not-an-apk", ".apk").toFile();
        try {
            FileOutputStream o = new FileOutputStream(f);
            o.write("<html>502 Bad Gateway</html>".getBytes("UTF-8"));
            o.close();
            try {
                UpdateApkManifest.readApk(f);
                fail("read a manifest from an HTML page");
            } catch (IOException expected) {
                assertTrue(expected.getMessage(), expected.getMessage().contains("not a zip"));
            }
        } finally {
            f.delete();
        }
    }
}
