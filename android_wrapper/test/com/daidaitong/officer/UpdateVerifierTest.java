package com.daidaitong.officer;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.File;
import java.io.IOException;

import org.junit.Before;
import org.junit.Test;

/** The update verification on real APKs made by make-fixtures.sh (no mocks). */
public class UpdateVerifierTest {
    private UpdateFixtures fx;
    private UpdateVerifier ours;

    @Before
    public void setUp() throws IOException {
        fx = new UpdateFixtures();
        ours = new UpdateVerifier(fx.ownPackage(), fx.ownVersionCode(), fx.ownSigner());
    }

    /** Verifies with the size and hash the server would publish for that very file. */
    private UpdateVerifier.Result published(String name) throws IOException {
        File f = fx.apk(name);
        return ours.verify(f, f.length(), UpdateVerifier.sha256Hex(f));
    }

    @Test
    public void aNewerApkSignedWithOurKeyIsAccepted() throws IOException {
        UpdateVerifier.Result r = published("newer.apk");
        assertTrue(r.toString(), r.ok());
        assertEquals(fx.ownVersionCode() + 1, r.manifest.versionCode);
    }

    @Test
    public void theSignerIsComparedAsApksignerReadsIt() throws IOException {
        assertEquals(java.util.Collections.singleton(fx.ownSigner()), UpdateVerifier.v1Signers(fx.apk("newer.apk")));
        assertEquals(java.util.Collections.singleton(fx.strangerSigner()),
                UpdateVerifier.v1Signers(fx.apk("stranger.apk")));
    }

    @Test
    public void aWrongHashIsRefused() throws IOException {
        File f = fx.apk("newer.apk");
        String sha = UpdateVerifier.sha256Hex(f);
        String other = (sha.charAt(0) == '0' ? "1" : "0") + sha.substring(1);
        UpdateVerifier.Result r = ours.verify(f, f.length(), other);
        assertEquals(UpdateVerifier.HASH_MISMATCH, r.reason);
        assertTrue(r.message, r.message.contains(sha));
        assertEquals(UpdateVerifier.HASH_MISMATCH, ours.verify(f, f.length(), null).reason);
        // The hash is compared case-insensitively (the server may publish upper case).
        assertTrue(ours.verify(f, f.length(), sha.toUpperCase()).ok());
    }

    @Test
    public void aWrongSizeIsRefused() throws IOException {
        File f = fx.apk("newer.apk");
        UpdateVerifier.Result r = ours.verify(f, f.length() + 1, UpdateVerifier.sha256Hex(f));
        assertEquals(UpdateVerifier.SIZE_MISMATCH, r.reason);
        assertEquals(UpdateVerifier.SIZE_MISMATCH,
                ours.verify(new File(fx.dir, "missing.apk"), 10, "00").reason);
    }

    @Test
    public void anApkSignedByAStrangerIsRefused() throws IOException {
        UpdateVerifier.Result r = published("stranger.apk");
        assertEquals(UpdateVerifier.WRONG_SIGNER, r.reason);
        assertTrue(r.message, r.message.contains(fx.strangerSigner()));
    }

    @Test
    public void aLowerVersionCodeIsRefused() throws IOException {
        UpdateVerifier.Result r = published("older.apk");
        assertEquals(UpdateVerifier.NOT_NEWER, r.reason);
        assertEquals(fx.ownVersionCode() - 1, r.manifest.versionCode);
    }

    @Test
    public void theSameVersionCodeIsRefused() throws IOException {
        File own = new File(System.getProperty("apk.path"));
        UpdateVerifier.Result r = ours.verify(own, own.length(), UpdateVerifier.sha256Hex(own));
        assertEquals(UpdateVerifier.NOT_NEWER, r.reason);
    }

    @Test
    public void anotherPackageIsRefused() throws IOException {
        UpdateVerifier.Result r = published("other-package.apk");
        assertEquals(UpdateVerifier.WRONG_PACKAGE, r.reason);
        assertEquals("com.daidaitong.stranger", r.manifest.packageName);
    }

    @Test
    public void contentChangedAfterSigningIsRefused() throws IOException {
        assertEquals(UpdateVerifier.BAD_SIGNATURE, published("tampered.apk").reason);
    }

    @Test
    public void anEntryNoSignatureCoversIsRefused() throws IOException {
        assertEquals(UpdateVerifier.UNSIGNED, published("unsigned-entry.apk").reason);
    }

    @Test
    public void aReleaseWithoutAV1SignatureIsRefused() throws IOException {
        // Signed by our own key, but with the v2 scheme only: nothing here can check it, so it is refused.
        assertEquals(UpdateVerifier.UNSIGNED, published("v2-only.apk").reason);
    }

    @Test
    public void whenOurOwnSignerIsUnknownNothingIsAccepted() throws IOException {
        UpdateVerifier blind = new UpdateVerifier(fx.ownPackage(), fx.ownVersionCode(), null);
        File f = fx.apk("newer.apk");
        assertEquals(UpdateVerifier.WRONG_SIGNER, blind.verify(f, f.length(), UpdateVerifier.sha256Hex(f)).reason);
    }
}
