package com.daidaitong.officer;

/**
 * What {@code update.check} answers and does, from what the server published and what the app holds
 * (pure Java; Updates gathers the inputs from the network, SharedPreferences and the DownloadManager).
 */
public final class UpdateDecision {
    /** The state update.check reports. */
    public final String state;
    /** Start downloading the published release. */
    public final boolean startDownload;
    /** Remove a download the app no longer needs (nothing newer is published, or it is installed). */
    public final boolean dropDownload;

    private UpdateDecision(String state, boolean startDownload, boolean dropDownload) {
        this.state = state;
        this.startDownload = startDownload;
        this.dropDownload = dropDownload;
    }

    /**
     * @param own            our versionCode
     * @param release        the published release, or null when none is published (404)
     * @param fetchFailed    the server could not be asked (offline, an error, a malformed answer)
     * @param stored         the state of the download the app holds ("" when none)
     * @param storedCode     the version code of that download (-1 when none)
     * @param storedSha256   its published SHA-256 ("" when none)
     * @param stillRunning   the DownloadManager still downloads it
     * @param mayDownload    a background check (at start, daily) fetches a due update by itself
     */
    public static UpdateDecision decide(int own, UpdateRelease release, boolean fetchFailed, String stored,
                                        int storedCode, String storedSha256, boolean stillRunning,
                                        boolean mayDownload) {
        boolean holding = storedCode >= 0;
        boolean readyHere = UpdateRelease.READY.equals(stored) && storedCode > own;
        if (fetchFailed) {
            // A file verified against what the server published earlier may still be installed.
            return new UpdateDecision(readyHere ? UpdateRelease.READY : UpdateRelease.FAILED, false, false);
        }
        String base = UpdateRelease.state(own, release);
        if (release == null || !release.newerThan(own)) {
            return new UpdateDecision(base, false, holding);
        }
        boolean sameRelease = release.versionCode == storedCode && release.sha256.equals(storedSha256);
        boolean inHand = sameRelease && (UpdateRelease.READY.equals(stored)
                || (UpdateRelease.DOWNLOADING.equals(stored) && stillRunning));
        boolean blocked = UpdateRelease.BLOCKED.equals(base);
        if (inHand) {
            // Blocked stays blocked (the page then asks update.install, which installs what is ready).
            return new UpdateDecision(blocked ? base : stored, false, false);
        }
        if (mayDownload) {
            return new UpdateDecision(blocked ? base : UpdateRelease.DOWNLOADING, true, false);
        }
        return new UpdateDecision(base, false, false);
    }
}
