"""Settings read from environment variables, with embedded defaults.

The embedded default is a SQLite file and a photo folder under ``instance/``,
so a newcomer runs everything with no server. Production sets DATABASE_URL
(``mysql+pymysql://…``), SECRET_KEY and PHOTO_DIR.
"""
from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
APP_VERSION = "0.3.1"
INSTANCE_DIR = Path(os.environ.get("INSTANCE_DIR", PROJECT_ROOT / "instance"))


def _secret_key(instance_dir: Path) -> str:
    """SECRET_KEY from the environment, else one generated once into instance/."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = instance_dir / "secret_key"
    if not path.exists():
        instance_dir.mkdir(parents=True, exist_ok=True)
        # O_EXCL so two gunicorn workers starting together agree on one key.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
    return path.read_text().strip()


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


class Config:
    def __init__(self) -> None:
        self.INSTANCE_DIR = INSTANCE_DIR
        self.SECRET_KEY = _secret_key(INSTANCE_DIR)
        self.SQLALCHEMY_DATABASE_URI = os.environ.get(
            "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'daidaitong.sqlite3'}"
        )
        self.SQLALCHEMY_ENGINE_OPTIONS = engine_options(self.SQLALCHEMY_DATABASE_URI)
        self.PHOTO_DIR = Path(os.environ.get("PHOTO_DIR", INSTANCE_DIR / "photos"))
        # The officer's Android app as published (flask android publish): <ANDROID_DIR>/<sha256>.apk,
        # and the package name a published APK must carry.
        self.ANDROID_DIR = Path(os.environ.get("ANDROID_DIR", INSTANCE_DIR / "android"))
        self.ANDROID_PACKAGE = os.environ.get("ANDROID_PACKAGE", "com.daidaitong.officer")
        self.PERMANENT_SESSION_LIFETIME = timedelta(hours=_int("SESSION_HOURS", 12))
        # Idle timeout: a phone left on a table logs itself out.
        self.SESSION_IDLE_MINUTES = _int("SESSION_IDLE_MINUTES", 60)
        self.SESSION_COOKIE_HTTPONLY = True
        # Set the cookie only when the session changes (app/web/security.py: concurrent requests).
        self.SESSION_REFRESH_EACH_REQUEST = False
        self.SESSION_COOKIE_SAMESITE = "Lax"
        # Unset: Secure everywhere but on localhost (app/web/security.py); 1: always; 0: never
        # (a production configuration says so at start-up).
        secure = os.environ.get("SESSION_COOKIE_SECURE", "")
        self.SESSION_COOKIE_SECURE = secure == "1"
        self.SESSION_COOKIE_SECURE_AUTO = secure not in ("0", "1")
        # Behind a reverse proxy: how many proxies' X-Forwarded-For/-Proto/-Host to trust, so the app
        # sees the client's address and that it is served over HTTPS (HSTS, Secure cookies).
        self.PROXY_FIX_HOPS = _int("PROXY_FIX_HOPS", 0)
        self.WTF_CSRF_TIME_LIMIT = None  # tied to the session instead
        self.WTF_CSRF_HEADERS = ["X-CSRFToken"]
        self.BABEL_DEFAULT_LOCALE = "zh"
        self.BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
        self.LANGUAGES = {"zh": "简体中文", "en": "English"}
        self.LOGIN_MAX_FAILURES = _int("LOGIN_MAX_FAILURES", 5)
        self.LOGIN_LOCK_SECONDS = _int("LOGIN_LOCK_SECONDS", 60)
        self.PASSWORD_HASH_METHOD = os.environ.get("PASSWORD_HASH_METHOD", "scrypt")
        self.MAX_CONTENT_LENGTH = _int("MAX_CONTENT_LENGTH", 32 * 1024 * 1024)
        # The existing book's workbook (flask import book, the admin's upload): larger files are refused unread.
        self.BOOK_MAX_BYTES = _int("BOOK_MAX_BYTES", 50 * 1024 * 1024)
        # Where photos live: "local" (under PHOTO_DIR, the embedded default) or an S3-compatible
        # object store, "s3://bucket/prefix" (app/storage/s3.py), reached at S3_ENDPOINT_URL (empty:
        # AWS) with the standard AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_DEFAULT_REGION,
        # read from the environment by the store. S3_ADDRESSING_STYLE: "path" (the default with an
        # endpoint: MinIO, SeaweedFS, Ceph) or "virtual" (AWS' default; Aliyun OSS, Tencent COS,
        # Huawei OBS). Short timeouts and few attempts: a store down or slow fails a request fast.
        self.PHOTO_STORE = os.environ.get("PHOTO_STORE", "local")
        self.S3_ENDPOINT_URL = os.environ.get("S3_ENDPOINT_URL", "")
        self.S3_ADDRESSING_STYLE = os.environ.get("S3_ADDRESSING_STYLE", "")
        self.S3_CONNECT_TIMEOUT = float(os.environ.get("S3_CONNECT_TIMEOUT", "3"))
        self.S3_READ_TIMEOUT = float(os.environ.get("S3_READ_TIMEOUT", "20"))
        self.S3_MAX_ATTEMPTS = _int("S3_MAX_ATTEMPTS", 3)
        # A local scratch folder for files on their way into an object store (receipts, screenshots,
        # restores, the received copy of an upload); the local store uses PHOTO_DIR/uploads.
        self.PHOTO_SCRATCH_DIR = Path(os.environ.get("PHOTO_SCRATCH_DIR", INSTANCE_DIR / "photo-scratch"))
        # Photos: the phone downscales before upload; these limits catch anything else.
        self.MAX_PHOTO_BYTES = _int("MAX_PHOTO_BYTES", 15 * 1024 * 1024)
        self.MAX_PHOTO_PIXELS = _int("MAX_PHOTO_PIXELS", 40_000_000)
        self.PHOTO_LONG_EDGE = _int("PHOTO_LONG_EDGE", 1600)
        # Chosen by measurement: bench/photo_downscale_ocr.py finds OCR reads every field down to
        # ~800 px; bench/phone_upload_bytes.py (the real Chromium encoder) lost one name in 75 fields
        # at 0.7 and none at 0.8, which costs about 4 % of the camera original's bytes.
        self.PHOTO_JPEG_QUALITY = float(os.environ.get("PHOTO_JPEG_QUALITY", "0.8"))
        self.UPLOAD_CHUNK_BYTES = _int("UPLOAD_CHUNK_BYTES", 256 * 1024)
        # OCR for HQ data entry: "rapidocr" (models ship in its wheel), "easyocr" (needs its
        # weights in OCR_MODEL_DIR, never downloaded) or "none".
        self.OCR_ENGINE = os.environ.get("OCR_ENGINE", "rapidocr")
        self.OCR_MODEL_DIR = os.environ.get("OCR_MODEL_DIR", str(INSTANCE_DIR / "ocr-models"))
        # A home GPS fix worse than this needs the officer's note.
        self.GPS_MAX_ACCURACY_M = _int("GPS_MAX_ACCURACY_M", 50)
        # Business dates (disbursement, repayment, IOU date…) may be at most this many days back
        # (app/domain/dates.py); phones' times are held to the same window.
        self.BACKDATE_MAX_DAYS = _int("BACKDATE_MAX_DAYS", 30)
        # Personal information over time (app/services/retention.py): photos and screenshots of a
        # rejected or withdrawn application are deleted this many days after the decision; those
        # of a fully repaid (closed) loan this many years after it closed. 0 keeps them forever.
        # Loan, repayment and borrower records are kept (credit records).
        self.RETENTION_REJECTED_PHOTOS_DAYS = _int("RETENTION_REJECTED_PHOTOS_DAYS", 180)
        self.RETENTION_CLOSED_LOAN_PHOTOS_YEARS = _int("RETENTION_CLOSED_LOAN_PHOTOS_YEARS", 5)
        # The phone app: older than MIN_CLIENT_VERSION must update before it may sync.
        self.CLIENT_VERSION = os.environ.get("CLIENT_VERSION", APP_VERSION)
        self.MIN_CLIENT_VERSION = os.environ.get("MIN_CLIENT_VERSION", APP_VERSION)
        # The key of the phones' SIM fingerprints (app/domain/sim.py); unset, SECRET_KEY. Set it once
        # and keep it: a new key makes every SIM-bound phone's SIM look changed.
        self.SIM_FINGERPRINT_KEY = os.environ.get("SIM_FINGERPRINT_KEY", "")
        # SMS repayment reminders. "console" writes each message to the log; "http" posts it to
        # SMS_HTTP_URL as the JSON object SMS_HTTP_BODY, whose string values may hold {phone}, {text}
        # (the whole message, sign included), {sign}, {content} (the message without the sign) and
        # {ref} (our id of the message, the same on every retry).
        self.SMS_GATEWAY = os.environ.get("SMS_GATEWAY", "console")
        self.SMS_SIGN = os.environ.get("SMS_SIGN", "【贷贷通】")
        self.SMS_HTTP_URL = os.environ.get("SMS_HTTP_URL", "")
        self.SMS_HTTP_METHOD = os.environ.get("SMS_HTTP_METHOD", "POST")
        self.SMS_HTTP_TOKEN = os.environ.get("SMS_HTTP_TOKEN", "")
        self.SMS_HTTP_BODY = os.environ.get(
            "SMS_HTTP_BODY", '{"phone": "{phone}", "text": "{text}", "sign": "{sign}"}'
        )
        self.SMS_HTTP_TIMEOUT = float(os.environ.get("SMS_HTTP_TIMEOUT", "10"))
        # Optional: success also needs this field of the JSON answer (dotted path) to equal the value.
        self.SMS_HTTP_OK_FIELD = os.environ.get("SMS_HTTP_OK_FIELD", "")
        self.SMS_HTTP_OK_VALUE = os.environ.get("SMS_HTTP_OK_VALUE", "")
        self.SMS_HTTP_ID_FIELD = os.environ.get("SMS_HTTP_ID_FIELD", "")
        self.SMS_REMIND_DAYS_BEFORE = _int("SMS_REMIND_DAYS_BEFORE", 3)
        self.SMS_OVERDUE_DAYS = os.environ.get("SMS_OVERDUE_DAYS", "1,7")
        self.SMS_MAX_ATTEMPTS = _int("SMS_MAX_ATTEMPTS", 5)
        # Staff alerts through the same outbox: an SMS to the office director when a loan is
        # escalated to him (besides the in-app notification). Off unless set to 1.
        self.SMS_STAFF_ALERTS = os.environ.get("SMS_STAFF_ALERTS", "0") == "1"
        # The embedded default runs the daily job on the first request of each day; production
        # runs `flask jobs daily` from cron (the job is idempotent, so both are safe together).
        # Post-loan tasks: first revisit (loan use) and then every N days after disbursement, a visit
        # before installments of at least this amount, escalation to the director at N days past due,
        # and the radius within which a visit's GPS counts as on site.
        self.TASK_FIRST_REVISIT_DAYS = _int("TASK_FIRST_REVISIT_DAYS", 15)
        self.TASK_REVISIT_EVERY_DAYS = _int("TASK_REVISIT_EVERY_DAYS", 90)
        self.TASK_PRE_DUE_AMOUNT = os.environ.get("TASK_PRE_DUE_AMOUNT", "5000")
        self.TASK_ESCALATION_DAYS = _int("TASK_ESCALATION_DAYS", 30)
        self.VISIT_RADIUS_M = _int("VISIT_RADIUS_M", 300)
        # The officers' GPS trail: every N minutes, only within these local working hours.
        self.TRAIL_INTERVAL_MIN = _int("TRAIL_INTERVAL_MIN", 5)
        self.TRAIL_HOURS = os.environ.get("TRAIL_HOURS", "08:00-18:00")
        # The trail page's base map (app/domain/basemap.py). Default 天地图 (Tianditu), which needs a
        # browser key TIANDITU_KEY (without one: no tiles, and the page says what to set). Or another
        # XYZ server: MAP_TILE_URL (e.g. https://webrd0{s}.is.autonavi.com/appmaptile?…&x={x}&y={y}&z={z}),
        # MAP_TILE_SUBDOMAINS (the values of {s}, default abc) and MAP_TILE_CRS, the coordinate system
        # its tiles are drawn in: wgs84 (default), gcj02 (AMap/Gaode, Tencent) or bd09 (Baidu); GPS
        # points are converted to it. MAP_TILE_URL=none: no tiles.
        self.TIANDITU_KEY = os.environ.get("TIANDITU_KEY", "")
        self.MAP_TILE_URL = os.environ.get("MAP_TILE_URL", "")
        self.MAP_TILE_SUBDOMAINS = os.environ.get("MAP_TILE_SUBDOMAINS", "")
        self.MAP_TILE_CRS = os.environ.get("MAP_TILE_CRS", "wgs84")
        # The lender's legal name, printed on every loan contract.
        self.INSTITUTION_NAME = os.environ.get("INSTITUTION_NAME", "贷贷通农村小额信贷")
        # Five-category classification: the first day past due of 关注, 次级, 可疑 and 损失.
        self.LOAN_CLASS_DAYS = tuple(int(d) for d in os.environ.get("LOAN_CLASS_DAYS", "1,91,181,361").split(","))
        default_daily = "1" if self.SQLALCHEMY_DATABASE_URI.startswith("sqlite") else "0"
        self.DAILY_JOB_ON_FIRST_REQUEST = os.environ.get("DAILY_JOB_ON_FIRST_REQUEST", default_daily) == "1"
        # Operations (app/logging_setup.py, app/web/ops.py): logs as text (a terminal) or json (one
        # object per line, for a collector); /metrics for a scraper sending "Authorization: Bearer
        # <METRICS_TOKEN>" (unset: /metrics answers 404); error reports to SENTRY_DSN when set.
        self.LOG_FORMAT = os.environ.get("LOG_FORMAT", "text")
        self.LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
        self.METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
        self.SENTRY_DSN = os.environ.get("SENTRY_DSN", "")
        self.SENTRY_ENVIRONMENT = os.environ.get("SENTRY_ENVIRONMENT", "")
        self.SENTRY_TRACES_SAMPLE_RATE = float(os.environ.get("SENTRY_TRACES_SAMPLE_RATE", "0"))
        self.APP_VERSION = APP_VERSION


def engine_options(url: str) -> dict:
    if url.startswith("mysql"):
        # Recycle before MariaDB's wait_timeout drops idle connections.
        return {"pool_pre_ping": True, "pool_recycle": 1800}
    return {}


class TestConfig(Config):
    def __init__(self, database_url: str, photo_dir: Path) -> None:
        super().__init__()
        self.TESTING = True
        self.SECRET_KEY = "test-secret"
        self.SQLALCHEMY_DATABASE_URI = database_url
        self.SQLALCHEMY_ENGINE_OPTIONS = engine_options(database_url)
        self.PHOTO_DIR = photo_dir
        self.PHOTO_SCRATCH_DIR = Path(photo_dir) / "scratch"
        self.ANDROID_DIR = Path(photo_dir).parent / "android"
        if os.environ.get("TEST_PHOTO_STORE") == "s3":
            # The MariaDB phase of `make test`: photos in a private SeaweedFS
            # (scripts/seaweedfs-test-server.sh), each app under a prefix of its own so that tests
            # never see each other's objects.
            self.PHOTO_STORE = f"s3://{os.environ['TEST_S3_BUCKET']}/t-{secrets.token_hex(8)}"
            self.S3_ENDPOINT_URL = os.environ["TEST_S3_ENDPOINT_URL"]
            self.S3_ADDRESSING_STYLE = "path"
            self.AWS_ACCESS_KEY_ID = os.environ["TEST_S3_ACCESS_KEY_ID"]
            self.AWS_SECRET_ACCESS_KEY = os.environ["TEST_S3_SECRET_ACCESS_KEY"]
            self.AWS_DEFAULT_REGION = "us-east-1"
        else:
            self.PHOTO_STORE = "local"
        # Hashing is deliberately slow in production; tests log in hundreds of times.
        self.PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"
        # Tests choose the business day themselves.
        self.DAILY_JOB_ON_FIRST_REQUEST = False
