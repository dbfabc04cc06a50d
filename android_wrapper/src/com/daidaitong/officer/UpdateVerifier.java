package com.daidaitong.officer;

import java.io.File;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.Certificate;
import java.security.cert.CertificateEncodingException;
import java.util.Enumeration;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;

/**
 * Decides whether a downloaded APK may be handed to the system installer (pure Java, the same code on
 * the JVM and on the phone). All must hold: the file's size and SHA-256 equal what the server
 * published; the APK's package is ours; its versionCode is higher than ours; every entry carries a
 * valid v1 (JAR) signature by exactly one certificate, and that certificate's SHA-256 equals our own
 * signing certificate's. The first failed check is the verdict, with a stable reason code and an
 * English message for the log.
 */
public final class UpdateVerifier {
    public static final String OK = "ok";
    public static final String SIZE_MISMATCH = "size_mismatch";
    public static final String HASH_MISMATCH = "hash_mismatch";
    public static final String NOT_AN_APK = "not_an_apk";
    public static final String WRONG_PACKAGE = "wrong_package";
    public static final String NOT_NEWER = "not_newer";
    public static final String UNSIGNED = "unsigned";
    public static final String BAD_SIGNATURE = "bad_signature";
    public static final String WRONG_SIGNER = "wrong_signer";

    /** The verdict. */
    public static final class Result {
        public final String reason;
        public final String message;
        /** Read from the APK when it got that far, else null. */
        public final UpdateApkManifest manifest;

        Result(String reason, String message, UpdateApkManifest manifest) {
            this.reason = reason;
            this.message = message;
            this.manifest = manifest;
        }

        public boolean ok() {
            return OK.equals(reason);
        }

        @Override
        public String toString() {
            return reason + ": " + message;
        }
    }

    /** What we are: our package, versionCode and the SHA-256 (hex) of our signing certificate. */
    private final String ownPackage;
    private final int ownVersionCode;
    private final String ownSignerSha256;

    public UpdateVerifier(String ownPackage, int ownVersionCode, String ownSignerSha256) {
        this.ownPackage = ownPackage;
        this.ownVersionCode = ownVersionCode;
        this.ownSignerSha256 = ownSignerSha256 == null ? "" : ownSignerSha256.toLowerCase(Locale.ROOT);
    }

    public Result verify(File apk, long expectedSize, String expectedSha256) {
        try {
            return check(apk, expectedSize, expectedSha256);
        } catch (IOException e) {
            return new Result(NOT_AN_APK, "cannot read " + apk.getName() + ": " + e.getMessage(), null);
        } catch (RuntimeException e) {
            return new Result(NOT_AN_APK, "cannot read " + apk.getName() + ": " + e, null);
        }
    }

    private Result check(File apk, long expectedSize, String expectedSha256) throws IOException {
        long size = apk.length();
        if (!apk.isFile() || size != expectedSize) {
            return new Result(SIZE_MISMATCH, "size " + size + " bytes, the server published "
                    + expectedSize, null);
        }
        String sha = sha256Hex(apk);
        if (expectedSha256 == null || !sha.equals(expectedSha256.toLowerCase(Locale.ROOT))) {
            return new Result(HASH_MISMATCH, "SHA-256 " + sha + ", the server published " + expectedSha256, null);
        }
        UpdateApkManifest m = UpdateApkManifest.readApk(apk);
        if (!ownPackage.equals(m.packageName)) {
            return new Result(WRONG_PACKAGE, "package " + m.packageName + ", ours is " + ownPackage, m);
        }
        if (m.versionCode <= ownVersionCode) {
            return new Result(NOT_NEWER, "versionCode " + m.versionCode + " is not higher than ours ("
                    + ownVersionCode + ")", m);
        }
        Set<String> signers;
        try {
            signers = v1Signers(apk);
        } catch (SecurityException e) {
            return new Result(BAD_SIGNATURE, "the signature does not match the content: " + e.getMessage(), m);
        }
        if (signers.isEmpty()) {
            return new Result(UNSIGNED, "some entries are not signed", m);
        }
        if (signers.size() != 1) {
            return new Result(WRONG_SIGNER, "signed by " + signers.size() + " certificates, expected ours only", m);
        }
        String signer = signers.iterator().next();
        if (!signer.equals(ownSignerSha256)) {
            return new Result(WRONG_SIGNER, "signed by certificate " + signer + ", ours is " + ownSignerSha256, m);
        }
        return new Result(OK, "version " + m.versionCode + " (" + m.versionName + ") verified", m);
    }

    /**
     * The SHA-256 of each certificate that signs every entry; empty when an entry (other than the
     * signature files themselves) is unsigned. A content change after signing throws SecurityException.
     */
    static Set<String> v1Signers(File apk) throws IOException {
        JarFile jar = new JarFile(apk, true);
        try {
            Set<String> common = null;
            byte[] buf = new byte[65536];
            Enumeration<JarEntry> en = jar.entries();
            while (en.hasMoreElements()) {
                JarEntry e = en.nextElement();
                String name = e.getName();
                if (e.isDirectory() || isSignatureFile(name)) {
                    continue;
                }
                InputStream in = jar.getInputStream(e);
                try {
                    while (in.read(buf) > 0) {
                        // reading to the end is what verifies the entry's digest
                    }
                } finally {
                    in.close();
                }
                Certificate[] certs = e.getCertificates();
                Set<String> these = new HashSet<String>();
                if (certs != null) {
                    for (Certificate c : certs) {
                        these.add(certSha256(c));
                    }
                }
                if (these.isEmpty()) {
                    return new HashSet<String>();
                }
                if (common == null) {
                    common = these;
                } else if (!common.equals(these)) {
                    throw new SecurityException("entries signed by different certificates (" + name + ")");
                }
            }
            return common == null ? new HashSet<String>() : common;
        } finally {
            jar.close();
        }
    }

    private static boolean isSignatureFile(String name) {
        if (!name.startsWith("META-INF/")) {
            return false;
        }
        String u = name.toUpperCase(Locale.ROOT);
        return u.equals("META-INF/MANIFEST.MF") || u.endsWith(".SF") || u.endsWith(".RSA")
                || u.endsWith(".DSA") || u.endsWith(".EC") || u.startsWith("META-INF/SIG-");
    }

    static String certSha256(Certificate c) {
        try {
            return hex(MessageDigest.getInstance("SHA-256").digest(c.getEncoded()));
        } catch (CertificateEncodingException e) {
            throw new SecurityException("unreadable certificate");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public static String sha256Hex(File f) throws IOException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        InputStream in = new FileInputStream(f);
        try {
            byte[] buf = new byte[65536];
            int n;
            while ((n = in.read(buf)) > 0) {
                md.update(buf, 0, n);
            }
        } finally {
            in.close();
        }
        return hex(md.digest());
    }

    public static String hex(byte[] d) {
        StringBuilder sb = new StringBuilder(d.length * 2);
        for (byte x : d) {
            sb.append(Character.forDigit((x >> 4) & 0xf, 16)).append(Character.forDigit(x & 0xf, 16));
        }
        return sb.toString();
    }
}
