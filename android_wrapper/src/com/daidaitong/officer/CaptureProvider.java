package com.daidaitong.officer;

import android.content.ContentProvider;
import android.content.ContentValues;
import android.content.Context;
import android.database.Cursor;
import android.database.MatrixCursor;
import android.net.Uri;
import android.os.ParcelFileDescriptor;
import android.provider.OpenableColumns;

import java.io.File;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * content://com.daidaitong.officer.capture/<name>.jpg over the app's cache folder: where the camera
 * app writes the photo for a capture input (the platform has no FileProvider without androidx).
 * Not exported; the camera gets a one-off grant on the URI through the capture intent.
 */
public final class CaptureProvider extends ContentProvider {
    static final String AUTHORITY = "com.daidaitong.officer.capture";
    private static final Pattern NAME = Pattern.compile("photo-[0-9a-f-]{36}\\.jpg");
    private static final long KEEP_MILLIS = 24L * 3600 * 1000;

    static File folder(Context context) {
        return new File(context.getCacheDir(), "capture");
    }

    /** A new empty file and its content:// URI; photos older than a day are removed on the way. */
    static Uri newCaptureUri(Context context) throws IOException {
        File dir = folder(context);
        if (!dir.isDirectory() && !dir.mkdirs()) throw new IOException("cannot make " + dir);
        File[] old = dir.listFiles();
        if (old != null) {
            long now = System.currentTimeMillis();
            for (File f : old) {
                if (now - f.lastModified() > KEEP_MILLIS && !f.delete()) f.deleteOnExit();
            }
        }
        String name = "photo-" + UUID.randomUUID() + ".jpg";
        File f = new File(dir, name);
        if (!f.createNewFile()) throw new IOException("cannot make " + f);
        return new Uri.Builder().scheme("content").authority(AUTHORITY).appendPath(name).build();
    }

    static boolean hasContent(Context context, Uri uri) {
        File f = fileFor(context, uri);
        return f != null && f.length() > 0;
    }

    private static File fileFor(Context context, Uri uri) {
        if (uri == null || !AUTHORITY.equals(uri.getAuthority()) || uri.getPathSegments().size() != 1) return null;
        String name = uri.getLastPathSegment();
        if (name == null || !NAME.matcher(name).matches()) return null;
        return new File(folder(context), name);
    }

    @Override
    public boolean onCreate() {
        return true;
    }

    @Override
    public ParcelFileDescriptor openFile(Uri uri, String mode) throws FileNotFoundException {
        File f = fileFor(getContext(), uri);
        if (f == null) throw new FileNotFoundException("not a capture file");
        int m = ParcelFileDescriptor.parseMode(mode);
        if ((m & ParcelFileDescriptor.MODE_CREATE) != 0 && !f.exists()) throw new FileNotFoundException("no such capture file");
        return ParcelFileDescriptor.open(f, m);
    }

    @Override
    public Cursor query(Uri uri, String[] projection, String selection, String[] args, String sort) {
        File f = fileFor(getContext(), uri);
        if (f == null || !f.exists()) return null;
        String[] cols = projection == null ? new String[] {OpenableColumns.DISPLAY_NAME, OpenableColumns.SIZE} : projection;
        MatrixCursor c = new MatrixCursor(cols, 1);
        Object[] row = new Object[cols.length];
        for (int i = 0; i < cols.length; i++) {
            if (OpenableColumns.DISPLAY_NAME.equals(cols[i])) row[i] = f.getName();
            else if (OpenableColumns.SIZE.equals(cols[i])) row[i] = f.length();
        }
        c.addRow(row);
        return c;
    }

    @Override
    public String getType(Uri uri) {
        return fileFor(getContext(), uri) == null ? null : "image/jpeg";
    }

    @Override
    public Uri insert(Uri uri, ContentValues values) {
        throw new UnsupportedOperationException("read-only");
    }

    @Override
    public int delete(Uri uri, String selection, String[] args) {
        File f = fileFor(getContext(), uri);
        return f != null && f.delete() ? 1 : 0;
    }

    @Override
    public int update(Uri uri, ContentValues values, String selection, String[] args) {
        throw new UnsupportedOperationException("read-only");
    }
}
