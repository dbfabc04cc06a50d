package com.daidaitong.officer;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import org.junit.Test;

public class UpdateDecisionTest {
    private static final String SHA = "a3f1c2d4e5b6a7980c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b";
    private static final String OTHER = "b3f1c2d4e5b6a7980c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b";

    private static UpdateRelease release(int code, int min) {
        return UpdateRelease.parse("{\"version_code\":" + code + ",\"size\":100,\"sha256\":\"" + SHA
                + "\",\"min_version_code\":" + min + ",\"url\":\"/a.apk\"}", "https://ddt.example.cn");
    }

    @Test
    public void nothingPublishedOrNothingNewerIsUpToDateAndAnOldDownloadGoes() {
        UpdateDecision d = UpdateDecision.decide(2, null, false, "", -1, "", false, true);
        assertEquals(UpdateRelease.UP_TO_DATE, d.state);
        assertFalse(d.startDownload);
        assertFalse(d.dropDownload);
        // The app was updated to the version it had downloaded: the file goes.
        d = UpdateDecision.decide(2, release(2, 1), false, UpdateRelease.READY, 2, SHA, false, true);
        assertEquals(UpdateRelease.UP_TO_DATE, d.state);
        assertTrue(d.dropDownload);
        assertFalse(d.startDownload);
    }

    @Test
    public void aNewerReleaseIsAvailableAndABackgroundCheckDownloadsIt() {
        UpdateDecision asked = UpdateDecision.decide(1, release(2, 1), false, "", -1, "", false, false);
        assertEquals(UpdateRelease.AVAILABLE, asked.state);
        assertFalse(asked.startDownload);
        UpdateDecision daily = UpdateDecision.decide(1, release(2, 1), false, "", -1, "", false, true);
        assertEquals(UpdateRelease.DOWNLOADING, daily.state);
        assertTrue(daily.startDownload);
    }

    @Test
    public void aDownloadInHandIsReportedNotStartedAgain() {
        UpdateDecision d = UpdateDecision.decide(1, release(2, 1), false, UpdateRelease.DOWNLOADING, 2, SHA, true, true);
        assertEquals(UpdateRelease.DOWNLOADING, d.state);
        assertFalse(d.startDownload);
        d = UpdateDecision.decide(1, release(2, 1), false, UpdateRelease.READY, 2, SHA, false, true);
        assertEquals(UpdateRelease.READY, d.state);
        assertFalse(d.startDownload);
    }

    @Test
    public void aStalledDownloadOrAnotherFileForTheSameCodeIsFetchedAgain() {
        // The DownloadManager no longer runs it (failed, removed by the user).
        assertTrue(UpdateDecision.decide(1, release(2, 1), false, UpdateRelease.DOWNLOADING, 2, SHA, false, true).startDownload);
        // The server re-published version 2 with other bytes: the file in hand is not that release.
        UpdateDecision d = UpdateDecision.decide(1, release(2, 1), false, UpdateRelease.READY, 2, OTHER, false, true);
        assertTrue(d.startDownload);
        assertEquals(UpdateRelease.DOWNLOADING, d.state);
        // A refused file never counts as in hand.
        assertTrue(UpdateDecision.decide(1, release(2, 1), false, UpdateRelease.FAILED, 2, SHA, false, true).startDownload);
    }

    @Test
    public void belowTheMinimumTheStateStaysBlockedWhateverIsInHand() {
        assertEquals(UpdateRelease.BLOCKED, UpdateDecision.decide(1, release(3, 2), false, "", -1, "", false, false).state);
        UpdateDecision d = UpdateDecision.decide(1, release(3, 2), false, "", -1, "", false, true);
        assertEquals(UpdateRelease.BLOCKED, d.state);
        assertTrue(d.startDownload);
        assertEquals(UpdateRelease.BLOCKED,
                UpdateDecision.decide(1, release(3, 2), false, UpdateRelease.READY, 3, SHA, false, true).state);
    }

    @Test
    public void offlineAVerifiedFileStaysReadyElseTheCheckFailed() {
        assertEquals(UpdateRelease.READY, UpdateDecision.decide(1, null, true, UpdateRelease.READY, 2, SHA, false, true).state);
        assertEquals(UpdateRelease.FAILED, UpdateDecision.decide(2, null, true, UpdateRelease.READY, 2, SHA, false, true).state);
        UpdateDecision d = UpdateDecision.decide(1, null, true, "", -1, "", false, true);
        assertEquals(UpdateRelease.FAILED, d.state);
        assertFalse(d.startDownload);
        assertFalse(d.dropDownload);
    }
}
