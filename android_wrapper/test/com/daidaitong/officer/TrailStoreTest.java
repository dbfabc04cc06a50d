package com.daidaitong.officer;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import org.junit.After;
import org.junit.Before;
import org.junit.Test;

public class TrailStoreTest {
    private File dir;
    private long clock = 1764550800000L; // 2025-12-01T01:00:00Z

    @Before
    public void setUp() throws IOException {
        // tmpfs when there is one: the same files and writes, but fsync costs nothing there, so the
        // random sequences below can be many.
        File shm = new File("/dev/shm");
        dir = shm.isDirectory() && shm.canWrite()
                ? Files.createTempDirectory(shm.toPath(), "trailstore").toFile()
                : Files.createTempDirectory("trailstore").toFile();
    }

    @After
    public void tearDown() {
        deleteTree(dir);
    }

    private static void deleteTree(File f) {
        File[] kids = f.listFiles();
        if (kids != null) {
            for (File k : kids) {
                deleteTree(k);
            }
        }
        f.delete();
    }

    private TrailPoint sample() {
        clock += 300000L;
        return TrailPoint.sample(clock, 30.66 + (clock % 1000) / 1e6, 104.06, 12, "gps", false);
    }

    private static List<String> uuids(List<TrailPoint> ps) {
        List<String> r = new ArrayList<String>();
        for (TrailPoint p : ps) {
            r.add(p.uuid);
        }
        return r;
    }

    private File journal() {
        return new File(dir, TrailStore.JOURNAL);
    }

    @Test
    public void addGivesEachPointItsOwnUuidAndTakeReturnsOldestFirst() throws IOException {
        TrailStore s = new TrailStore(dir);
        TrailPoint a = s.add(sample());
        TrailPoint b = s.add(TrailPoint.sample(clock + 1, 30.1, 104.2, 7, "network", true));
        TrailPoint c = s.add(sample());
        assertEquals(36, a.uuid.length());
        assertEquals(3, new HashSet<String>(Arrays.asList(a.uuid, b.uuid, c.uuid)).size());
        assertEquals(Arrays.asList(a, b), s.take(2));
        assertEquals(Arrays.asList(a, b, c), s.take(500));
        assertTrue(s.take(500).get(1).isMock);
        assertEquals("network", s.take(500).get(1).provider);
        assertEquals(3, s.waiting());
        s.close();
    }

    @Test
    public void takeTwiceWithoutAckGivesTheSameUuidsAndAckRemovesOnlyKnownOnes() throws IOException {
        TrailStore s = new TrailStore(dir);
        for (int i = 0; i < 5; i++) {
            s.add(sample());
        }
        List<TrailPoint> first = s.take(3);
        List<TrailPoint> again = s.take(3);
        assertEquals(uuids(first), uuids(again));
        List<String> ack = new ArrayList<String>(uuids(first));
        ack.add("0d7e6f1a-1b2c-4d3e-8f40-5a6b7c8d9e01"); // unknown: ignored
        ack.add(first.get(0).uuid); // twice in one call: counted once
        assertEquals(3, s.ack(ack));
        assertEquals(0, s.ack(uuids(first))); // already gone
        assertEquals(2, s.waiting());
        assertFalse(uuids(s.take(10)).contains(first.get(0).uuid));
        s.close();
    }

    @Test
    public void aNewInstanceOnTheSameFolderSeesExactlyTheUnackedPoints() throws IOException {
        TrailStore s = new TrailStore(dir);
        List<TrailPoint> all = new ArrayList<TrailPoint>();
        for (int i = 0; i < 6; i++) {
            all.add(s.add(sample()));
        }
        s.ack(Arrays.asList(all.get(1).uuid, all.get(4).uuid));
        s.close();
        TrailStore t = new TrailStore(dir);
        assertEquals(Arrays.asList(all.get(0), all.get(2), all.get(3), all.get(5)), t.take(100));
        t.close();
    }

    @Test
    public void aTornLastLineAfterACrashIsIgnoredAndTheNextAppendIsClean() throws IOException {
        TrailStore s = new TrailStore(dir);
        TrailPoint a = s.add(sample());
        TrailPoint b = s.add(sample());
        s.close();
        // The crash: half of a third line written, no newline.
        String half = TrailStore.pointLine(new TrailPoint("11111111-2222-4333-8444-555555555555",
                clock, 1, 2, 3, "gps", false));
        FileOutputStream o = new FileOutputStream(journal(), true);
        o.write(half.substring(0, half.length() / 2).getBytes("UTF-8"));
        o.close();
        TrailStore t = new TrailStore(dir);
        assertEquals(Arrays.asList(a, b), t.take(10));
        TrailPoint c = t.add(sample());
        t.close();
        TrailStore u = new TrailStore(dir);
        assertEquals(Arrays.asList(a, b, c), u.take(10));
        u.close();
    }

    @Test
    public void aCorruptedLineInTheMiddleIsSkippedNotFatal() throws IOException {
        TrailStore s = new TrailStore(dir);
        TrailPoint a = s.add(sample());
        s.close();
        FileOutputStream o = new FileOutputStream(journal(), true);
        o.write("P\tgarbage\t1\t2\n\u0000\u0000\n".getBytes("UTF-8"));
        o.close();
        TrailStore t = new TrailStore(dir);
        TrailPoint b = t.add(sample());
        t.close();
        TrailStore u = new TrailStore(dir);
        assertEquals(Arrays.asList(a, b), u.take(10));
        u.close();
    }

    @Test
    public void theJournalIsEmptiedWhenEverythingInItIsAcked() throws IOException {
        TrailStore s = new TrailStore(dir);
        for (int i = 0; i < 4; i++) {
            s.add(sample());
        }
        assertTrue(journal().length() > 0);
        s.ack(uuids(s.take(2)));
        assertEquals(6, s.journalLines());
        s.ack(uuids(s.take(2)));
        assertEquals(0, journal().length());
        assertEquals(0, s.journalLines());
        TrailPoint e = s.add(sample());
        s.close();
        TrailStore t = new TrailStore(dir);
        assertEquals(Collections.singletonList(e), t.take(10));
        t.close();
    }

    @Test
    public void aJournalMostlyOfDeadLinesIsRewrittenWithOnlyTheLivePoints() throws IOException {
        TrailStore s = new TrailStore(dir);
        for (int i = 0; i < 1200; i++) {
            s.add(sample());
        }
        // 1,200 point lines + 1,000 ack lines: the dead lines outgrow the 200 live points.
        s.ack(uuids(s.take(1000)));
        assertEquals(200, s.journalLines());
        List<TrailPoint> keep = s.take(200);
        s.ack(uuids(keep.subList(0, 190)));
        List<TrailPoint> live = keep.subList(190, 200);
        assertEquals(390, s.journalLines()); // not worth a rewrite yet
        assertFalse(new File(dir, TrailStore.TEMP).exists());
        s.close();
        TrailStore t = new TrailStore(dir);
        assertEquals(live, t.take(100));
        t.close();
    }

    @Test
    public void overTheCapacityTheOldestIsDroppedWithALogLine() throws IOException {
        final List<String> logged = new ArrayList<String>();
        Handler h = new Handler() {
            @Override
            public void publish(LogRecord r) {
                logged.add(r.getMessage());
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        Logger.getLogger("daidaitong.trail").addHandler(h);
        try {
            TrailStore s = new TrailStore(dir, 3);
            TrailPoint a = s.add(sample());
            TrailPoint b = s.add(sample());
            TrailPoint c = s.add(sample());
            TrailPoint d = s.add(sample());
            TrailPoint e = s.add(sample());
            assertEquals(Arrays.asList(c, d, e), s.take(10));
            assertEquals(2, s.dropped());
            assertEquals(2, logged.size());
            assertTrue(logged.get(0), logged.get(0).contains("dropped the oldest point " + a.uuid));
            assertTrue(logged.get(1).contains(b.uuid));
            s.close();
            TrailStore t = new TrailStore(dir, 3);
            assertEquals(Arrays.asList(c, d, e), t.take(10));
            t.close();
        } finally {
            Logger.getLogger("daidaitong.trail").removeHandler(h);
        }
    }

    @Test
    public void atTheCapTheJournalStaysBoundedWhileNoPageTakesAnything() throws IOException {
        Logger log = Logger.getLogger("daidaitong.trail");
        java.util.logging.Level level = log.getLevel();
        log.setLevel(java.util.logging.Level.SEVERE); // one drop line per add
        try {
            TrailStore s = new TrailStore(dir, 3);
            TrailPoint last = null;
            for (int i = 0; i < 3000; i++) {
                last = s.add(sample());
            }
            // 3,000 point lines + 2,997 drop lines without compaction.
            assertTrue("journal lines " + s.journalLines(), s.journalLines() < 2100);
            assertEquals(3, s.waiting());
            s.close();
            TrailStore t = new TrailStore(dir, 3);
            assertEquals(last, t.take(3).get(2));
            assertEquals(3, t.waiting());
            t.close();
        } finally {
            log.setLevel(level);
        }
    }

    @Test
    public void theFolderCanBeFsyncedAfterTheCompactionsRename() {
        // On the JVM through java.nio (the phone uses android.system.Os); false would mean the
        // rename's durability rests on the file system alone.
        assertTrue(TrailStore.syncDir(dir));
    }

    @Test
    public void theDefaultCapacityHoldsTwoMonthsOfFiveMinuteSamplesInTwelveHourDays() {
        // 12 samples an hour x 12 hours x 61 days = 8,784 < 20,000 (room for a 1-minute interval for a week too).
        assertTrue(12 * 12 * 61 <= TrailStore.DEFAULT_CAPACITY);
    }

    /**
     * Random sequences of add / take / ack (with lost acks and unknown UUIDs) / reopen / crash-torn
     * writes against a simple model: nothing is lost, nothing is doubled, order is kept.
     */
    @Test
    public void randomSequencesLoseNothingAndDoubleNothing() throws IOException {
        long seed = Long.getLong("trail.seed", System.nanoTime());
        System.out.println("TrailStoreTest random seed: " + seed + " (rerun with -Dtrail.seed=" + seed + ")");
        Random rnd = new Random(seed);
        Logger log = Logger.getLogger("daidaitong.trail");
        java.util.logging.Level level = log.getLevel();
        log.setLevel(java.util.logging.Level.SEVERE); // thousands of expected torn-line / drop lines
        try {
            randomRounds(rnd, seed);
        } finally {
            log.setLevel(level);
        }
    }

    private void randomRounds(Random rnd, long seed) throws IOException {
        for (int round = 0; round < 40; round++) {
            File d = new File(dir, "r" + round);
            int cap = 5 + rnd.nextInt(40);
            TrailStore s = new TrailStore(d, cap);
            LinkedHashMap<String, TrailPoint> model = new LinkedHashMap<String, TrailPoint>();
            Set<String> everAcked = new HashSet<String>();
            List<String> taken = new ArrayList<String>();
            for (int step = 0; step < 150; step++) {
                int op = rnd.nextInt(100);
                String ctx = "seed " + seed + " round " + round + " step " + step;
                if (op < 45) {
                    TrailPoint p = s.add(sample());
                    assertFalse(ctx, model.containsKey(p.uuid) || everAcked.contains(p.uuid));
                    model.put(p.uuid, p);
                    while (model.size() > cap) {
                        String oldest = model.keySet().iterator().next();
                        model.remove(oldest);
                        everAcked.add(oldest);
                    }
                } else if (op < 65) {
                    int max = 1 + rnd.nextInt(15);
                    List<TrailPoint> got = s.take(max);
                    List<TrailPoint> want = new ArrayList<TrailPoint>(model.values());
                    assertEquals(ctx, want.subList(0, Math.min(max, want.size())), got);
                    taken = uuids(got);
                } else if (op < 85) {
                    List<String> ack = new ArrayList<String>();
                    for (String u : taken) {
                        if (rnd.nextInt(4) != 0) { // some acks are lost
                            ack.add(u);
                        }
                    }
                    if (rnd.nextBoolean()) {
                        ack.add(java.util.UUID.randomUUID().toString());
                    }
                    int expected = 0;
                    for (String u : new HashSet<String>(ack)) {
                        if (model.remove(u) != null) {
                            expected++;
                            everAcked.add(u);
                        }
                    }
                    assertEquals(ctx, expected, s.ack(ack));
                } else if (op < 93) {
                    s.close();
                    s = new TrailStore(d, cap);
                } else {
                    // Crash in the middle of a write: a prefix of a line that never returned.
                    s.close();
                    String line = rnd.nextBoolean()
                            ? TrailStore.pointLine(new TrailPoint(java.util.UUID.randomUUID().toString(),
                                    clock, 1.5, 2.5, 9, "gps", true))
                            : TrailStore.ackLine(model.isEmpty() ? "x" : model.keySet().iterator().next());
                    int cut = rnd.nextInt(line.length() - 1); // never the newline itself
                    FileOutputStream o = new FileOutputStream(new File(d, TrailStore.JOURNAL), true);
                    o.write(line.substring(0, cut).getBytes("UTF-8"));
                    o.close();
                    s = new TrailStore(d, cap);
                }
                assertEquals(ctx, model.size(), s.waiting());
            }
            assertEquals(new ArrayList<TrailPoint>(model.values()), s.take(1000));
            s.close();
        }
    }
}
