package com.daidaitong.officer;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * Reads the package name, versionCode and versionName from an APK's binary AndroidManifest.xml
 * (Android's "AXML" chunk format), in pure Java, so that the update check runs the same on the JVM
 * and on the phone. Reads only what it needs: the string pool, the resource map and the attributes
 * of the {@code <manifest>} element. Anything malformed is an IOException, never a crash.
 */
public final class UpdateApkManifest {
    public final String packageName;
    public final int versionCode;
    public final String versionName;

    private static final int RES_XML_TYPE = 0x0003;
    private static final int RES_STRING_POOL_TYPE = 0x0001;
    private static final int RES_XML_RESOURCE_MAP_TYPE = 0x0180;
    private static final int RES_XML_START_ELEMENT_TYPE = 0x0102;
    private static final int UTF8_FLAG = 0x100;
    private static final int TYPE_STRING = 0x03;
    private static final int TYPE_INT_DEC = 0x10;
    private static final int TYPE_INT_HEX = 0x11;
    private static final int ATTR_VERSION_CODE = 0x0101021b;
    private static final int ATTR_VERSION_NAME = 0x0101021c;
    private static final int MAX_MANIFEST = 4 * 1024 * 1024;

    UpdateApkManifest(String packageName, int versionCode, String versionName) {
        this.packageName = packageName;
        this.versionCode = versionCode;
        this.versionName = versionName;
    }

    /** Reads AndroidManifest.xml out of an APK (a zip file). */
    public static UpdateApkManifest readApk(File apk) throws IOException {
        ZipFile zip;
        try {
            zip = new ZipFile(apk);
        } catch (IOException e) {
            throw new IOException("not a zip file: " + e.getMessage());
        }
        try {
            ZipEntry e = zip.getEntry("AndroidManifest.xml");
            if (e == null) {
                throw new IOException("no AndroidManifest.xml in the file");
            }
            InputStream in = zip.getInputStream(e);
            try {
                ByteArrayOutputStream bo = new ByteArrayOutputStream();
                byte[] buf = new byte[8192];
                int n;
                while ((n = in.read(buf)) > 0) {
                    bo.write(buf, 0, n);
                    if (bo.size() > MAX_MANIFEST) {
                        throw new IOException("AndroidManifest.xml too large");
                    }
                }
                return parse(bo.toByteArray());
            } finally {
                in.close();
            }
        } finally {
            zip.close();
        }
    }

    /** Parses a binary AndroidManifest.xml. */
    public static UpdateApkManifest parse(byte[] b) throws IOException {
        try {
            return parseUnchecked(b);
        } catch (RuntimeException e) { // index out of range etc. in a malformed file
            throw new IOException("malformed binary manifest: " + e);
        }
    }

    private static UpdateApkManifest parseUnchecked(byte[] b) throws IOException {
        if (b.length < 8 || u16(b, 0) != RES_XML_TYPE) {
            throw new IOException("not a binary XML file");
        }
        int end = Math.min(b.length, u32(b, 4));
        int pos = u16(b, 2);
        String[] strings = null;
        int[] resIds = new int[0];
        while (pos + 8 <= end) {
            int type = u16(b, pos);
            int headerSize = u16(b, pos + 2);
            int size = u32(b, pos + 4);
            if (size < 8 || pos + size > end) {
                throw new IOException("bad chunk size at " + pos);
            }
            if (type == RES_STRING_POOL_TYPE) {
                strings = stringPool(b, pos, pos + size);
            } else if (type == RES_XML_RESOURCE_MAP_TYPE) {
                int count = (size - headerSize) / 4;
                resIds = new int[count];
                for (int i = 0; i < count; i++) {
                    resIds[i] = u32(b, pos + headerSize + 4 * i);
                }
            } else if (type == RES_XML_START_ELEMENT_TYPE) {
                if (strings == null) {
                    throw new IOException("element before the string pool");
                }
                int ext = pos + headerSize;
                String name = str(strings, u32(b, ext + 4));
                if (!"manifest".equals(name)) {
                    throw new IOException("the first element is not <manifest>");
                }
                int attrStart = u16(b, ext + 8);
                int attrSize = u16(b, ext + 10);
                int attrCount = u16(b, ext + 12);
                String pkg = null;
                String vName = null;
                Integer vCode = null;
                for (int i = 0; i < attrCount; i++) {
                    int a = ext + attrStart + i * attrSize;
                    int nameIdx = u32(b, a + 4);
                    int raw = u32(b, a + 8);
                    int dataType = b[a + 15] & 0xff;
                    int data = u32(b, a + 16);
                    String attr = str(strings, nameIdx);
                    int resId = nameIdx >= 0 && nameIdx < resIds.length ? resIds[nameIdx] : 0;
                    String value = raw != -1 ? str(strings, raw)
                            : (dataType == TYPE_STRING ? str(strings, data) : null);
                    if (resId == ATTR_VERSION_CODE || (resId == 0 && "versionCode".equals(attr))) {
                        if (dataType == TYPE_INT_DEC || dataType == TYPE_INT_HEX) {
                            vCode = Integer.valueOf(data);
                        } else if (value != null) {
                            vCode = Integer.valueOf(Integer.parseInt(value.trim()));
                        }
                    } else if (resId == ATTR_VERSION_NAME || (resId == 0 && "versionName".equals(attr))) {
                        vName = value;
                    } else if ("package".equals(attr) && resId == 0) {
                        pkg = value;
                    }
                }
                if (pkg == null || pkg.length() == 0) {
                    throw new IOException("the manifest names no package");
                }
                if (vCode == null) {
                    throw new IOException("the manifest has no versionCode");
                }
                return new UpdateApkManifest(pkg, vCode.intValue(), vName);
            }
            pos += size;
        }
        throw new IOException("no <manifest> element");
    }

    private static String[] stringPool(byte[] b, int pos, int end) throws IOException {
        int count = u32(b, pos + 8);
        int flags = u32(b, pos + 16);
        int stringsStart = u32(b, pos + 20);
        int headerSize = u16(b, pos + 2);
        if (count < 0 || count > (end - pos) / 4 || stringsStart < 0 || stringsStart > end - pos) {
            throw new IOException("bad string pool header");
        }
        boolean utf8 = (flags & UTF8_FLAG) != 0;
        String[] r = new String[count];
        for (int i = 0; i < count; i++) {
            int off = pos + stringsStart + u32(b, pos + headerSize + 4 * i);
            if (utf8) {
                int[] p = {off};
                varLen8(b, p); // length in UTF-16 units, unused
                int len = varLen8(b, p);
                if (p[0] + len > end) {
                    throw new IOException("string " + i + " runs past its pool");
                }
                r[i] = new String(b, p[0], len, "UTF-8");
            } else {
                int len = u16(b, off);
                off += 2;
                if ((len & 0x8000) != 0) {
                    len = ((len & 0x7fff) << 16) | u16(b, off);
                    off += 2;
                }
                if (len < 0 || off + 2L * len > end) {
                    throw new IOException("string " + i + " runs past its pool");
                }
                char[] c = new char[len];
                for (int k = 0; k < len; k++) {
                    c[k] = (char) u16(b, off + 2 * k);
                }
                r[i] = new String(c);
            }
        }
        return r;
    }

    private static int varLen8(byte[] b, int[] p) {
        int v = b[p[0]] & 0xff;
        p[0]++;
        if ((v & 0x80) != 0) {
            v = ((v & 0x7f) << 8) | (b[p[0]] & 0xff);
            p[0]++;
        }
        return v;
    }

    private static String str(String[] pool, int i) {
        return i >= 0 && i < pool.length ? pool[i] : null;
    }

    private static int u16(byte[] b, int o) {
        return (b[o] & 0xff) | ((b[o + 1] & 0xff) << 8);
    }

    private static int u32(byte[] b, int o) {
        return (b[o] & 0xff) | ((b[o + 1] & 0xff) << 8) | ((b[o + 2] & 0xff) << 16) | ((b[o + 3] & 0xff) << 24);
    }
}
