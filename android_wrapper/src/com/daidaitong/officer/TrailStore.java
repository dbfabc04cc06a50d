package com.daidaitong.officer;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.nio.charset.Charset;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.logging.Logger;
import java.util.zip.CRC32;

/**
 * Durable storage of the background trail's points (pure Java, no android.*).
 *
 * <p>One append-only journal file, {@code trail.journal}, in the given folder. Each stored sample is
 * one line {@code P <uuid> <at> <lat> <lon> <accuracy> <provider> <mock> <crc32>} (tab-separated) and
 * each acknowledgement one line {@code A <uuid> <crc32>}; every add and every ack is written and then
 * fsynced ({@code FileOutputStream.getFD().sync()}) before the call returns. On opening, the journal is
 * replayed: a torn last line (a crash in the middle of a write) or any line whose checksum does not
 * match is ignored with a log line, never fatal, and the torn tail is cut off so the next append starts
 * on a clean line. When every point in the journal is acknowledged the journal is emptied; when it holds
 * many more dead lines than live points it is rewritten to a temporary file, fsynced and renamed over
 * the journal (an atomic rename: a crash leaves either the old or the new journal, both complete).
 *
 * <p>At most {@code capacity} unacknowledged points are kept; beyond that the oldest is dropped (recorded
 * as an acknowledgement, with a log line), so the phone's storage cannot fill up with a trail no page
 * ever takes.
 */
public final class TrailStore {
    public static final int DEFAULT_CAPACITY = 20000;
    static final String JOURNAL = "trail.journal";
    static final String TEMP = "trail.journal.tmp";
    private static final Charset UTF8 = Charset.forName("UTF-8");
    private static final Logger LOG = Logger.getLogger("daidaitong.trail");
    /** The phone's POSIX wrapper package, named for reflection only. */
    private static final String PLATFORM_OS = "android" + ".system";

    private final File dir;
    private final File journal;
    private final int capacity;
    /** Unacknowledged points, oldest first. */
    private final LinkedHashMap<String, TrailPoint> live = new LinkedHashMap<String, TrailPoint>();
    private FileOutputStream out;
    private int lines;
    private long dropped;

    public TrailStore(File dir) throws IOException {
        this(dir, DEFAULT_CAPACITY);
    }

    public TrailStore(File dir, int capacity) throws IOException {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be at least 1");
        }
        this.dir = dir;
        this.capacity = capacity;
        this.journal = new File(dir, JOURNAL);
        if (!dir.isDirectory() && !dir.mkdirs()) {
            throw new IOException("cannot create trail folder " + dir);
        }
        File tmp = new File(dir, TEMP);
        if (tmp.exists() && !tmp.delete()) {
            LOG.warning("trail: cannot delete a leftover " + tmp);
        }
        replay();
        out = new FileOutputStream(journal, true);
        if (live.size() > capacity) {
            StringBuilder batch = new StringBuilder();
            while (live.size() > capacity) {
                dropOldest(batch);
            }
            write(batch);
        }
    }

    // ------------------------------------------------------------------ public API

    /** Stores a sample durably under a new UUID and returns the stored point. */
    public synchronized TrailPoint add(TrailPoint sample) throws IOException {
        TrailPoint p = new TrailPoint(UUID.randomUUID().toString(), sample.atMillis, sample.lat,
                sample.lon, sample.accuracyM, cleanProvider(sample.provider), sample.isMock);
        StringBuilder batch = new StringBuilder();
        while (live.size() >= capacity) {
            dropOldest(batch);
        }
        boolean dropping = batch.length() > 0;
        batch.append(pointLine(p));
        write(batch);
        live.put(p.uuid, p);
        if (dropping) {
            // At the cap every add also writes a drop: without this the journal would grow for ever
            // while no page takes the points.
            compactIfUseful();
        }
        return p;
    }

    /** The oldest unacknowledged points, at most {@code max}, oldest first. */
    public synchronized List<TrailPoint> take(int max) {
        List<TrailPoint> r = new ArrayList<TrailPoint>(Math.min(Math.max(max, 0), live.size()));
        Iterator<TrailPoint> it = live.values().iterator();
        while (r.size() < max && it.hasNext()) {
            r.add(it.next());
        }
        return r;
    }

    /** Deletes the acknowledged points; unknown UUIDs are ignored. Returns how many were removed. */
    public synchronized int ack(Collection<String> uuids) throws IOException {
        StringBuilder batch = new StringBuilder();
        Set<String> seen = new HashSet<String>();
        for (String u : uuids) {
            if (u != null && live.containsKey(u) && seen.add(u)) {
                batch.append(ackLine(u));
            }
        }
        if (seen.isEmpty()) {
            return 0;
        }
        write(batch);
        for (String u : seen) {
            live.remove(u);
        }
        compactIfUseful();
        return seen.size();
    }

    /** How many stored points are waiting to be taken and acknowledged. */
    public synchronized int waiting() {
        return live.size();
    }

    /** How many points were dropped by the capacity cap since this instance opened. */
    public synchronized long dropped() {
        return dropped;
    }

    /** Lines in the journal file (for tests and the log). */
    synchronized int journalLines() {
        return lines;
    }

    public synchronized void close() {
        try {
            if (out != null) {
                out.close();
            }
        } catch (IOException e) {
            LOG.warning("trail: closing the journal failed: " + e);
        }
        out = null;
    }

    // ------------------------------------------------------------------ internals

    private void dropOldest(StringBuilder batch) throws IOException {
        Iterator<TrailPoint> it = live.values().iterator();
        TrailPoint oldest = it.next();
        it.remove();
        dropped++;
        LOG.warning("trail: store full (" + capacity + " points), dropped the oldest point "
                + oldest.uuid + " taken at " + oldest.atIso());
        batch.append(ackLine(oldest.uuid));
    }

    private void write(StringBuilder batch) throws IOException {
        if (out == null) {
            throw new IOException("trail store is closed");
        }
        byte[] b = batch.toString().getBytes(UTF8);
        out.write(b);
        out.flush();
        out.getFD().sync();
        for (int i = 0; i < b.length; i++) {
            if (b[i] == '\n') {
                lines++;
            }
        }
    }

    private void compactIfUseful() throws IOException {
        if (live.isEmpty()) {
            // Everything in the journal is acknowledged: start an empty one.
            out.close();
            out = new FileOutputStream(journal, false);
            out.getFD().sync();
            lines = 0;
            return;
        }
        int dead = lines - live.size();
        if (dead > 1000 && dead > 2 * live.size()) {
            File tmp = new File(dir, TEMP);
            FileOutputStream t = new FileOutputStream(tmp, false);
            int n = 0;
            try {
                StringBuilder sb = new StringBuilder();
                for (TrailPoint p : live.values()) {
                    sb.append(pointLine(p));
                    n++;
                }
                t.write(sb.toString().getBytes(UTF8));
                t.flush();
                t.getFD().sync();
            } finally {
                t.close();
            }
            out.close();
            if (!tmp.renameTo(journal)) {
                out = new FileOutputStream(journal, true);
                throw new IOException("trail: cannot rename " + tmp + " over " + journal);
            }
            syncDir(dir); // the rename itself, before anything is appended to the new journal
            out = new FileOutputStream(journal, true);
            lines = n;
        }
    }

    /**
     * fsyncs the folder so that the compaction's rename is on disk before new points go into the new
     * journal. By reflection only (this class links against nothing of Android's and no API above 23):
     * the platform's Os class on the phone (API 21), java.nio's FileChannel on a directory on the JVM.
     * If neither works, the file system's own journal commits the rename with the next file fsync.
     */
    static boolean syncDir(File dir) {
        try {
            Class<?> os = Class.forName(PLATFORM_OS + ".Os");
            Class<?> consts = Class.forName(PLATFORM_OS + ".OsConstants");
            int rdonly = consts.getField("O_RDONLY").getInt(null);
            Object fd = os.getMethod("open", String.class, int.class, int.class).invoke(null, dir.getPath(), rdonly, 0);
            try {
                os.getMethod("fsync", java.io.FileDescriptor.class).invoke(null, fd);
            } finally {
                os.getMethod("close", java.io.FileDescriptor.class).invoke(null, fd);
            }
            return true;
        } catch (ClassNotFoundException e) {
            // not on a phone: try java.nio below
        } catch (Exception e) {
            LOG.warning("trail: folder fsync failed: " + e);
            return false;
        }
        try {
            Class<?> pathCls = Class.forName("java.nio.file.Path");
            Class<?> optCls = Class.forName("java.nio.file.OpenOption");
            Object path = File.class.getMethod("toPath").invoke(dir);
            Object opts = java.lang.reflect.Array.newInstance(optCls, 1);
            java.lang.reflect.Array.set(opts, 0, Class.forName("java.nio.file.StandardOpenOption").getField("READ").get(null));
            java.nio.channels.FileChannel ch = (java.nio.channels.FileChannel) java.nio.channels.FileChannel.class
                    .getMethod("open", pathCls, opts.getClass()).invoke(null, path, opts);
            try {
                ch.force(true);
            } finally {
                ch.close();
            }
            return true;
        } catch (Exception e) {
            LOG.warning("trail: folder fsync not available: " + e);
            return false;
        }
    }

    private void replay() throws IOException {
        lines = 0;
        if (!journal.exists()) {
            return;
        }
        byte[] all = readAll(journal);
        int start = 0;
        int lineNo = 0;
        for (int i = 0; i < all.length; i++) {
            if (all[i] != '\n') {
                continue;
            }
            lineNo++;
            String line = new String(all, start, i - start, UTF8);
            start = i + 1;
            lines++;
            if (!apply(line)) {
                LOG.warning("trail: ignored unreadable journal line " + lineNo + " in " + journal);
            }
        }
        if (start < all.length) {
            // A crash in the middle of a write: the last line has no newline. Cut it off.
            LOG.warning("trail: ignored a torn last line (" + (all.length - start)
                    + " bytes) in " + journal);
            RandomAccessFile raf = new RandomAccessFile(journal, "rw");
            try {
                raf.setLength(start);
                raf.getFD().sync();
            } finally {
                raf.close();
            }
        }
    }

    private boolean apply(String line) {
        int tab = line.lastIndexOf('\t');
        if (tab < 0) {
            return false;
        }
        String body = line.substring(0, tab);
        if (!crc(body).equals(line.substring(tab + 1))) {
            return false;
        }
        String[] f = body.split("\t", -1);
        try {
            if ("P".equals(f[0]) && f.length == 8) {
                TrailPoint p = new TrailPoint(f[1], Long.parseLong(f[2]), Double.parseDouble(f[3]),
                        Double.parseDouble(f[4]), Integer.parseInt(f[5]), f[6], "1".equals(f[7]));
                live.put(p.uuid, p);
                return true;
            }
            if ("A".equals(f[0]) && f.length == 2) {
                live.remove(f[1]);
                return true;
            }
        } catch (NumberFormatException e) {
            return false;
        }
        return false;
    }

    static String pointLine(TrailPoint p) {
        String body = "P\t" + p.uuid + "\t" + p.atMillis + "\t" + p.lat + "\t" + p.lon + "\t"
                + p.accuracyM + "\t" + cleanProvider(p.provider) + "\t" + (p.isMock ? "1" : "0");
        return body + "\t" + crc(body) + "\n";
    }

    static String ackLine(String uuid) {
        String body = "A\t" + uuid;
        return body + "\t" + crc(body) + "\n";
    }

    /** Providers are short names ("gps", "network", "fused"); anything else is made safe for a line. */
    static String cleanProvider(String provider) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < provider.length() && sb.length() < 32; i++) {
            char c = provider.charAt(i);
            boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || c == '_' || c == '-' || c == '.';
            sb.append(ok ? c : '_');
        }
        return sb.toString();
    }

    private static String crc(String body) {
        CRC32 c = new CRC32();
        c.update(body.getBytes(UTF8));
        String h = Long.toHexString(c.getValue());
        return "00000000".substring(h.length()) + h;
    }

    private static byte[] readAll(File f) throws IOException {
        InputStream in = new FileInputStream(f);
        try {
            ByteArrayOutputStream bo = new ByteArrayOutputStream((int) Math.min(f.length(), 1 << 24));
            byte[] buf = new byte[65536];
            int n;
            while ((n = in.read(buf)) > 0) {
                bo.write(buf, 0, n);
            }
            return bo.toByteArray();
        } finally {
            in.close();
        }
    }
}
