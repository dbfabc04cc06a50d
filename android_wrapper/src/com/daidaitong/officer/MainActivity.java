package com.daidaitong.officer;

import android.Manifest;
import android.app.Activity;
import android.app.AlertDialog;
import android.content.ActivityNotFoundException;
import android.content.Context;
import android.content.DialogInterface;
import android.content.Intent;
import android.content.SharedPreferences;
import android.content.pm.ApplicationInfo;
import android.content.pm.PackageInfo;
import android.content.pm.PackageManager;
import android.graphics.Bitmap;
import android.net.Uri;
import android.os.Bundle;
import android.provider.MediaStore;
import android.text.InputType;
import android.util.Log;
import android.view.Gravity;
import android.view.KeyEvent;
import android.view.View;
import android.view.ViewGroup;
import android.view.inputmethod.EditorInfo;
import android.webkit.DownloadListener;
import android.webkit.GeolocationPermissions;
import android.webkit.ValueCallback;
import android.webkit.WebChromeClient;
import android.webkit.WebSettings;
import android.webkit.WebView;
import android.webkit.WebViewClient;
import android.widget.Button;
import android.widget.EditText;
import android.widget.LinearLayout;
import android.widget.TextView;
import android.widget.Toast;

import java.util.ArrayList;
import java.util.List;

/**
 * The app's one screen: at first start the server's address (typed, or from the setup link
 * daidaitong-officer://setup?server=…), then a WebView on <server>/m/ with the bridge.
 */
public class MainActivity extends Activity {
    static final String TAG = "Daidaitong";
    static final String PREFS = "daidaitong";
    static final String PREF_SERVER = "server_origin";

    private static final int REQ_START_PERMISSIONS = 1;
    private static final int REQ_GEOLOCATION = 2;
    private static final int REQ_CAMERA_PERMISSION = 3;
    private static final int REQ_FILE_CHOOSER = 10;
    private static final int REQ_CAMERA = 11;

    /** Handlers by request type; services register theirs in registerServices(). */
    Router router;
    /** Events to the page (dropped while no page holds the channel). */
    Events events;

    private SharedPreferences prefs;
    private boolean debugBuild;
    private OriginPolicy policy;
    private WebView web;
    private Bridge bridge;
    private DeviceWatch watch;

    private String pendingGeoOrigin;
    private GeolocationPermissions.Callback pendingGeoCallback;
    private ValueCallback<Uri[]> fileCallback;
    private WebChromeClient.FileChooserParams pendingCaptureParams;
    private Uri cameraOutput;

    @Override
    protected void onCreate(Bundle saved) {
        super.onCreate(saved);
        prefs = getSharedPreferences(PREFS, MODE_PRIVATE);
        debugBuild = isDebugBuild(this);
        router = new Router(Bridge.routerLog());
        events = Bridge.events();
        registerOwnHandlers(router, this);
        registerServices();

        OriginPolicy.Origin server = storedServer();
        // A setup link counts when it starts the app, not again when the system recreates it.
        String linked = saved != null ? null : OriginPolicy.setupLinkServer(getIntent() == null ? null : getIntent().getDataString());
        if (linked != null && server != null && sameServer(linked, server)) linked = null;
        if (server == null || linked != null) {
            showSetup(linked, server);
        } else {
            openWebView(server, saved);
        }
    }

    /** identity, location, network, version: the same for the page and for a headless sync page. */
    static void registerOwnHandlers(Router r, Context c) {
        r.register("identity", new IdentityHandler(c));
        r.register("location", new LocationHandler(c));
        r.register("network", new NetworkHandler(c));
        r.register("version", new VersionHandler(c));
    }

    /** The background trail, updates and the sync job register their handlers here. */
    void registerServices() {
        TrailBridge.register(router, this);
        Updates.register(router, this);
        SyncWakeJob.register(router, this);
        SyncWakeJob.schedule(this);
        Updates.checkInBackground(this);
    }

    @Override
    protected void onNewIntent(Intent intent) {
        super.onNewIntent(intent);
        setIntent(intent);
        String linked = OriginPolicy.setupLinkServer(intent == null ? null : intent.getDataString());
        OriginPolicy.Origin current = storedServer();
        if (linked == null || (current != null && sameServer(linked, current) && web != null)) return;
        showSetup(linked, current);
    }

    /** A setup link for the server already set changes nothing (the page stays as it is). */
    private boolean sameServer(String linked, OriginPolicy.Origin current) {
        try {
            return OriginPolicy.parseServer(linked, debugBuild).equals(current);
        } catch (OriginPolicy.Refused e) {
            return false;
        }
    }

    private OriginPolicy.Origin storedServer() {
        return serverOrigin(this);
    }

    /** The server's origin set at first start, or null (not set, or not allowed in this build). */
    static OriginPolicy.Origin serverOrigin(Context c) {
        String s = c.getSharedPreferences(PREFS, MODE_PRIVATE).getString(PREF_SERVER, null);
        if (s == null) return null;
        try {
            return OriginPolicy.parseServer(s, isDebugBuild(c));
        } catch (OriginPolicy.Refused e) {
            Log.w(TAG, "stored server refused (" + e.getMessage() + "): asking again");
            return null;
        }
    }

    static boolean isDebugBuild(Context c) {
        return (c.getApplicationInfo().flags & ApplicationInfo.FLAG_DEBUGGABLE) != 0;
    }

    // ---- First start: the server's address ----

    private void showSetup(String prefill, final OriginPolicy.Origin current) {
        closeWebView();
        int pad = (int) (24 * getResources().getDisplayMetrics().density);
        LinearLayout box = new LinearLayout(this);
        box.setOrientation(LinearLayout.VERTICAL);
        box.setPadding(pad, pad, pad, pad);
        box.setGravity(Gravity.CENTER_VERTICAL);
        TextView title = new TextView(this);
        title.setText(R.string.setup_title);
        title.setTextSize(22);
        TextView help = new TextView(this);
        help.setText(R.string.setup_help);
        help.setPadding(0, pad / 2, 0, pad / 2);
        final EditText input = new EditText(this);
        input.setHint(R.string.setup_hint);
        input.setSingleLine(true);
        input.setInputType(InputType.TYPE_CLASS_TEXT | InputType.TYPE_TEXT_VARIATION_URI);
        input.setImeOptions(EditorInfo.IME_ACTION_GO);
        if (prefill != null) input.setText(prefill);
        else if (current != null) input.setText(current.toString());
        final TextView error = new TextView(this);
        error.setTextColor(0xffc62828);
        Button connect = new Button(this);
        connect.setText(R.string.setup_connect);
        final Runnable submit = new Runnable() {
            @Override
            public void run() {
                trySetServer(input.getText().toString(), error, current);
            }
        };
        connect.setOnClickListener(new View.OnClickListener() {
            @Override
            public void onClick(View v) {
                submit.run();
            }
        });
        input.setOnEditorActionListener(new TextView.OnEditorActionListener() {
            @Override
            public boolean onEditorAction(TextView v, int actionId, KeyEvent event) {
                submit.run();
                return true;
            }
        });
        box.addView(title);
        box.addView(help);
        box.addView(input, new LinearLayout.LayoutParams(ViewGroup.LayoutParams.MATCH_PARENT, ViewGroup.LayoutParams.WRAP_CONTENT));
        box.addView(error);
        box.addView(connect);
        setContentView(box);
    }

    private void trySetServer(String typed, TextView error, OriginPolicy.Origin current) {
        final OriginPolicy.Origin origin;
        try {
            origin = OriginPolicy.parseServer(typed, debugBuild);
        } catch (OriginPolicy.Refused e) {
            Log.w(TAG, "server address refused: " + e.getMessage());
            error.setText("not_https".equals(e.reason) ? R.string.setup_not_https : R.string.setup_malformed);
            return;
        }
        if (current != null && !current.equals(origin)) {
            // Another institution's server (or a link someone else made): say so before switching.
            new AlertDialog.Builder(this)
                .setMessage(getString(R.string.setup_confirm_change, origin.toString()))
                .setPositiveButton(android.R.string.ok, new DialogInterface.OnClickListener() {
                    @Override
                    public void onClick(DialogInterface d, int which) {
                        saveAndOpen(origin);
                    }
                })
                .setNegativeButton(android.R.string.cancel, null)
                .show();
            return;
        }
        saveAndOpen(origin);
    }

    private void saveAndOpen(OriginPolicy.Origin origin) {
        prefs.edit().putString(PREF_SERVER, origin.toString()).apply();
        openWebView(origin, null);
    }

    // ---- The web app ----

    private void openWebView(OriginPolicy.Origin server, Bundle saved) {
        closeWebView();
        policy = new OriginPolicy(server);
        web = new WebView(this);
        configureWebView(web, this);
        web.setWebViewClient(new Client());
        web.setWebChromeClient(new Chrome());
        web.setDownloadListener(new DownloadListener() {
            @Override
            public void onDownloadStart(String url, String userAgent, String disposition, String mimeType, long length) {
                // A file link (e.g. the APK on the download page) goes to the browser, which downloads it.
                openOutside(url);
            }
        });
        setContentView(web);

        bridge = new Bridge(web, policy, router, Protocol.hello(getPackageName(), versionCode(), versionName()));
        watch = new DeviceWatch(this, events);
        watch.start();

        if (saved == null || web.restoreState(saved) == null) {
            web.loadUrl(policy.startUrl());
        }
        askStartPermissions();
    }

    /** The WebView's settings, for the page and for a headless sync page alike. */
    static void configureWebView(WebView web, Context c) {
        if (isDebugBuild(c)) WebView.setWebContentsDebuggingEnabled(true);
        WebSettings s = web.getSettings();
        s.setJavaScriptEnabled(true);
        s.setDomStorageEnabled(true);
        s.setDatabaseEnabled(true);
        s.setGeolocationEnabled(true);
        s.setAllowFileAccess(false);
        s.setAllowFileAccessFromFileURLs(false);
        s.setAllowUniversalAccessFromFileURLs(false);
        // Content access stays on: the camera photo and chosen files are content:// URIs the upload reads.
        s.setMixedContentMode(WebSettings.MIXED_CONTENT_NEVER_ALLOW);
        s.setJavaScriptCanOpenWindowsAutomatically(false);
        s.setSupportMultipleWindows(false);
        s.setUserAgentString(s.getUserAgentString() + " DaidaitongAndroid/" + versionCodeOf(c));
    }

    private void closeWebView() {
        if (watch != null) {
            watch.stop();
            watch = null;
        }
        if (bridge != null) {
            bridge.close();
            bridge = null;
        }
        if (web != null) {
            ViewGroup parent = (ViewGroup) web.getParent();
            if (parent != null) parent.removeView(web);
            web.destroy();
            web = null;
        }
    }

    private void askStartPermissions() {
        List<String> ask = new ArrayList<String>();
        for (String p : new String[] {Manifest.permission.ACCESS_FINE_LOCATION, Manifest.permission.READ_PHONE_STATE}) {
            if (checkSelfPermission(p) != PackageManager.PERMISSION_GRANTED) ask.add(p);
        }
        if (!ask.isEmpty()) requestPermissions(ask.toArray(new String[0]), REQ_START_PERMISSIONS);
    }

    int versionCode() {
        return versionCodeOf(this);
    }

    String versionName() {
        return versionNameOf(this);
    }

    static int versionCodeOf(Context c) {
        PackageInfo info = packageInfo(c);
        return info == null ? 0 : info.versionCode;
    }

    static String versionNameOf(Context c) {
        PackageInfo info = packageInfo(c);
        return info == null || info.versionName == null ? "" : info.versionName;
    }

    private static PackageInfo packageInfo(Context c) {
        try {
            return c.getPackageManager().getPackageInfo(c.getPackageName(), 0);
        } catch (PackageManager.NameNotFoundException e) {
            return null;
        }
    }

    private final class Client extends WebViewClient {
        @Override
        public boolean shouldOverrideUrlLoading(WebView view, String url) {
            if (policy.sameOrigin(url)) return false;
            openOutside(url);
            return true;
        }

        @Override
        public void onPageStarted(WebView view, String url, Bitmap favicon) {
            // The old page's channel dies with it; a new one is offered when this page has loaded.
            if (bridge != null) bridge.pageStarted();
        }

        @Override
        public void onPageFinished(WebView view, String url) {
            if (bridge != null) bridge.pageFinished(url);
        }
    }

    /** Links off the server's origin open in the phone's browser (or dialler, mail…); never in our WebView. */
    private void openOutside(String url) {
        if (!WebPolicy.mayOpenOutside(url)) {
            Log.w(TAG, "link not opened: " + (url == null ? "null" : url.substring(0, Math.min(url.length(), 40))));
            return;
        }
        try {
            Intent i = new Intent(Intent.ACTION_VIEW, Uri.parse(url));
            i.addCategory(Intent.CATEGORY_BROWSABLE);
            startActivity(i);
        } catch (ActivityNotFoundException e) {
            Toast.makeText(this, R.string.no_app_for_link, Toast.LENGTH_SHORT).show();
        }
    }

    private final class Chrome extends WebChromeClient {
        @Override
        public void onGeolocationPermissionsShowPrompt(String origin, GeolocationPermissions.Callback callback) {
            if (policy == null || !policy.sameOrigin(origin)) {
                Log.w(TAG, "geolocation refused to another origin");
                callback.invoke(origin, false, false);
                return;
            }
            if (checkSelfPermission(Manifest.permission.ACCESS_FINE_LOCATION) == PackageManager.PERMISSION_GRANTED) {
                callback.invoke(origin, true, false);
                return;
            }
            if (pendingGeoCallback != null) pendingGeoCallback.invoke(pendingGeoOrigin, false, false);
            pendingGeoOrigin = origin;
            pendingGeoCallback = callback;
            requestPermissions(new String[] {Manifest.permission.ACCESS_FINE_LOCATION}, REQ_GEOLOCATION);
        }

        @Override
        public boolean onShowFileChooser(WebView view, ValueCallback<Uri[]> callback, FileChooserParams params) {
            if (fileCallback != null) fileCallback.onReceiveValue(null);
            fileCallback = callback;
            if (isImageCapture(params)) {
                if (checkSelfPermission(Manifest.permission.CAMERA) != PackageManager.PERMISSION_GRANTED) {
                    pendingCaptureParams = params;
                    requestPermissions(new String[] {Manifest.permission.CAMERA}, REQ_CAMERA_PERMISSION);
                    return true;
                }
                if (openCamera()) return true;
            }
            return openChooser(params);
        }
    }

    /** An <input type=file accept="image/*" capture>: the camera, directly. */
    static boolean isImageCapture(WebChromeClient.FileChooserParams params) {
        return params != null && WebPolicy.opensCamera(params.isCaptureEnabled(), params.getAcceptTypes());
    }

    private boolean openCamera() {
        try {
            cameraOutput = CaptureProvider.newCaptureUri(this);
            Intent i = new Intent(MediaStore.ACTION_IMAGE_CAPTURE);
            i.putExtra(MediaStore.EXTRA_OUTPUT, cameraOutput);
            i.addFlags(Intent.FLAG_GRANT_WRITE_URI_PERMISSION | Intent.FLAG_GRANT_READ_URI_PERMISSION);
            startActivityForResult(i, REQ_CAMERA);
            return true;
        } catch (ActivityNotFoundException | java.io.IOException e) {
            Log.w(TAG, "camera not available: " + e);
            cameraOutput = null;
            return false;
        }
    }

    private boolean openChooser(WebChromeClient.FileChooserParams params) {
        try {
            startActivityForResult(params.createIntent(), REQ_FILE_CHOOSER);
            return true;
        } catch (ActivityNotFoundException e) {
            Log.w(TAG, "no file chooser: " + e);
            if (fileCallback != null) fileCallback.onReceiveValue(null);
            fileCallback = null;
            return false;
        }
    }

    @Override
    protected void onActivityResult(int requestCode, int resultCode, Intent data) {
        if (requestCode == REQ_CAMERA) {
            Uri[] result = null;
            if (resultCode == RESULT_OK && cameraOutput != null && CaptureProvider.hasContent(this, cameraOutput)) {
                result = new Uri[] {cameraOutput};
            }
            deliverFiles(result);
            cameraOutput = null;
        } else if (requestCode == REQ_FILE_CHOOSER) {
            deliverFiles(WebChromeClient.FileChooserParams.parseResult(resultCode, data));
        } else {
            super.onActivityResult(requestCode, resultCode, data);
        }
    }

    private void deliverFiles(Uri[] uris) {
        if (fileCallback != null) fileCallback.onReceiveValue(uris);
        fileCallback = null;
    }

    @Override
    public void onRequestPermissionsResult(int requestCode, String[] permissions, int[] grants) {
        boolean granted = grants.length > 0 && grants[0] == PackageManager.PERMISSION_GRANTED;
        if (requestCode == REQ_GEOLOCATION && pendingGeoCallback != null) {
            pendingGeoCallback.invoke(pendingGeoOrigin, granted, false);
            pendingGeoCallback = null;
            pendingGeoOrigin = null;
        } else if (requestCode == REQ_CAMERA_PERMISSION) {
            WebChromeClient.FileChooserParams params = pendingCaptureParams;
            pendingCaptureParams = null;
            if (granted && openCamera()) return;
            if (params == null || !openChooser(params)) deliverFiles(null);
        } else if (requestCode == REQ_START_PERMISSIONS && watch != null) {
            watch.start(); // the SIM receiver reads more once READ_PHONE_STATE is granted
        }
    }

    // ---- Lifecycle: rotation is handled in place (configChanges); process death restores or reloads /m/ ----

    @Override
    protected void onSaveInstanceState(Bundle out) {
        super.onSaveInstanceState(out);
        if (web != null) web.saveState(out);
    }

    @Override
    protected void onResume() {
        super.onResume();
        if (web != null) web.onResume();
    }

    @Override
    protected void onPause() {
        // Only this view pauses; JavaScript timers keep running so a sync in progress can finish.
        if (web != null) web.onPause();
        super.onPause();
    }

    @Override
    protected void onDestroy() {
        if (pendingGeoCallback != null) pendingGeoCallback.invoke(pendingGeoOrigin, false, false);
        deliverFiles(null);
        closeWebView();
        super.onDestroy();
    }

    @Override
    public void onBackPressed() {
        if (web != null && web.canGoBack()) web.goBack();
        else super.onBackPressed();
    }
}
