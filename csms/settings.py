"""Settings for the CSMS, driven by environment variables (django-environ).

Embedded defaults need no servers: SQLite in WAL mode, the in-memory channel layer and
Celery in eager mode. Production sets PRODUCTION=1 plus DATABASE_URL, REDIS_URL,
CELERY_BROKER_URL, SECRET_KEY and ALLOWED_HOSTS; the code is the same.
"""

import datetime
from pathlib import Path

import environ
from django.templatetags.static import static

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env")

PRODUCTION = env.bool("PRODUCTION", default=False)
DEBUG = env.bool("DEBUG", default=False)

# Production refuses to start without a real key; the embedded default uses a
# development key that `check --deploy` flags.
if PRODUCTION:
    SECRET_KEY = env("SECRET_KEY")
else:
    SECRET_KEY = env("SECRET_KEY", default="django-insecure-embedded-default-do-not-deploy")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Local state of the embedded default: the SQLite file, collected static files, uploads.
DATA_DIR = Path(env("DATA_DIR", default=str(BASE_DIR / "var")))
DATA_DIR.mkdir(parents=True, exist_ok=True)

INSTALLED_APPS = [
    # unfold must come before django.contrib.admin so its templates win.
    "unfold",
    "unfold.contrib.filters",
    "unfold.contrib.import_export",
    "unfold.contrib.simple_history",
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "axes",
    "simple_history",
    "guardian",
    "import_export",
    "channels",
    "accounts",
    "sites",
    "charging",
    "ocpp_gateway",
    "billing",
    "reports",
    "integrations",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Counts the requests Django answers, by view and status (integrations.metrics).
    "integrations.metrics.RequestCounter",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Records who made each change in the model histories (django-simple-history).
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes requires: turns a lockout into a response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "csms.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

ASGI_APPLICATION = "csms.asgi.application"
WSGI_APPLICATION = None

# --- Database -------------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'db.sqlite3'}"),
}
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers proceed while one writer commits; IMMEDIATE takes the write lock at
    # BEGIN so concurrent writers queue on busy_timeout instead of failing with
    # "database is locked" on lock upgrade.
    _db["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # Tests use a file too, not Django's shared-cache in-memory database: that one answers
    # "table is locked" at once when two threads meet (the gateway writes from several),
    # where a file in WAL mode waits on busy_timeout as in production.
    _db["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}
# Persistent connections, on every engine: `database_sync_to_async` with CONN_MAX_AGE=0 opens
# a new connection per call (about 2 ms, PERFORMANCE-NOTES.md; on SQLite a quarter of the
# gateway's time went to opening and closing connections).
_db.setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
# No health check ("SELECT 1") each time a connection is reused: the gateway's writer threads
# reuse theirs for every batch. A connection that failed is still dropped and reopened, since
# Django closes one on which an error occurred.
_db.setdefault("CONN_HEALTH_CHECKS", env.bool("CONN_HEALTH_CHECKS", default=False))
# Threads that run Django's synchronous code for HTTP requests (admin, API), each holding at most
# one connection, reused across requests (csms/sync_threads.py). A request waits for a free
# thread when all are busy. With the gateway's own threads (OCPP_GROUP_COMMIT_WRITERS writers and
# BACKGROUND_DATABASE_THREADS others), this bounds the connections of one process (S24).
HTTP_SYNC_THREADS = env.int("HTTP_SYNC_THREADS", default=8)
# A request thread unused this long (s) closes its connection.
HTTP_SYNC_IDLE_SECONDS = env.float("HTTP_SYNC_IDLE_SECONDS", default=10.0)
# The other threads of a server process that hold a connection: the health endpoint's, the
# WebSocket consumers' one thread (asgiref's), the message-log writer, the two handshake/authorize
# readers, the dashboard publisher and the embedded beat. Not a setting: what the code starts; a
# test checks the bound.
BACKGROUND_DATABASE_THREADS = 7

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth -----------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # First: refuses authentication while an account or address is locked out (S19).
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    # Permissions of a member's role in their organization (accounts.roles).
    "accounts.backends.RoleBackend",
    "guardian.backends.ObjectPermissionBackend",
]
# guardian would otherwise create an "AnonymousUser" row in our email-keyed user table.
ANONYMOUS_USER_NAME = None

# django-axes (S19): after AXES_FAILURE_LIMIT failed logins for one account from one address,
# logins for that pair are refused (HTTP 429) for AXES_COOLOFF_MINUTES, on the admin and the
# token endpoint. After AXES_ACCOUNT_FAILURE_LIMIT failed logins for one account from any
# addresses within that time (distributed guessing), the account is refused from every address
# (accounts/lockout.py). A success clears its own address's failures only.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_ACCOUNT_FAILURE_LIMIT = env.int("AXES_ACCOUNT_FAILURE_LIMIT", default=30)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_HANDLER = "accounts.lockout.AccountLockoutHandler"
# The admin's form calls the field "username", the token endpoint "email".
AXES_USERNAME_CALLABLE = "accounts.lockout.login_name"
# The client's address: REMOTE_ADDR, which uvicorn takes from X-Forwarded-For only when the
# peer is one of TRUSTED_PROXIES (never a client's own X-Forwarded-For).
AXES_CLIENT_IP_CALLABLE = "accounts.lockout.client_address"
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files (whitenoise) --------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Outside production whitenoise serves straight from the app directories, so the embedded
# default needs no collectstatic step.
WHITENOISE_USE_FINDERS = not PRODUCTION
MEDIA_ROOT = DATA_DIR / "media"

# --- Security (secure by default in production, each switch overridable) --------------
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("TRUST_X_FORWARDED_PROTO", default=PRODUCTION) else None
)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=PRODUCTION)
# Load balancers probe the health endpoint, and Prometheus may scrape the metrics, over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^api/health$", r"^api/metrics$", r"^metrics$"]
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=PRODUCTION)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=PRODUCTION)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=PRODUCTION)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=PRODUCTION)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# --- Channels -------------------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    # The pub/sub layer: a command message (send + receive on one consumer's channel) costs
    # 179 us here against 813 us for the core layer (p99 242 us against 1,172 us; measured
    # with bench/channel_layers.py), and it lost no commands under a connect storm where the
    # core layer lost 3.6 % (PERFORMANCE-NOTES.md). It has no group expiry (R24). What it
    # does not do, buffer messages for a channel nobody listens to, we do not need: commands
    # are rows, and a charger's queue is drained from the database when it (re)connects.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Cache ----------------------------------------------------------------------------
# Holds the API's rate-limit counters. With Redis, one cache for every process (short socket
# timeouts: a Redis outage must cost a request milliseconds, and the throttles then fail open);
# without, each process's own memory.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": env("CACHE_REDIS_URL", default=REDIS_URL),
            "KEY_PREFIX": "csms",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- OCPP gateway -----------------------------------------------------------------------
# URL prefixes chargers connect under: ws://host/<prefix>/<charge point id>. "ocpp" is the
# canonical one; "ws" and "/" (ws://host/<id>) are the seed projects' forms, off by default.
OCPP_PATH_PREFIXES = env.list("OCPP_PATH_PREFIXES", default=["ocpp"])
# Subprotocols we speak, in order of preference (OCPP-J 1.6 / 2.0.1 sec. 3.1.2); a charger offered
# both gets its own preferred version first (Charger.preferred_ocpp_version).
OCPP_SUBPROTOCOLS = env.list("OCPP_SUBPROTOCOLS", default=["ocpp2.0.1", "ocpp1.6"])
# Unknown charge point ids: "reject" (HTTP 404 at the handshake), "pending" (accepted, every
# BootNotification answered Pending) or "register" (created Pending in the organization
# OCPP_AUTO_REGISTER_ORGANIZATION, for an operator to accept). Attempts go to the inbox.
OCPP_UNKNOWN_CHARGER_POLICY = env("OCPP_UNKNOWN_CHARGER_POLICY", default="reject")
OCPP_AUTO_REGISTER_ORGANIZATION = env("OCPP_AUTO_REGISTER_ORGANIZATION", default="")
OCPP_UNKNOWN_CHARGER_INBOX_SIZE = env.int("OCPP_UNKNOWN_CHARGER_INBOX_SIZE", default=1000)
# Inbox writes per unknown id are rate-limited to one per this many seconds (attempts in
# between are counted in memory and added to the next write).
OCPP_UNKNOWN_CHARGER_RECORD_INTERVAL = env.float("OCPP_UNKNOWN_CHARGER_RECORD_INTERVAL", default=10.0)
# A charger's refused logins (wrong key, a downgrade) are written as a security event at most
# once per charger and address per this many seconds, with the attempts counted in between.
OCPP_SECURITY_EVENT_RECORD_INTERVAL = env.float("OCPP_SECURITY_EVENT_RECORD_INTERVAL", default=10.0)
# Interval (s) told to a charger that is Pending or Rejected: when to send BootNotification again.
OCPP_BOOT_RETRY_INTERVAL = env.int("OCPP_BOOT_RETRY_INTERVAL", default=60)
# A charger heard from less recently than this many heartbeat intervals is shown offline.
OCPP_OFFLINE_AFTER_HEARTBEATS = env.int("OCPP_OFFLINE_AFTER_HEARTBEATS", default=3)
# Charger timestamps further ahead of our clock than this (s) are flagged as in the future.
OCPP_CLOCK_SKEW_TOLERANCE = env.int("OCPP_CLOCK_SKEW_TOLERANCE", default=300)
# An active session that has shown no meter value, status or transaction event for this many
# minutes is listed as possibly stuck (charging.selectors.stuck_sessions).
SESSION_STUCK_AFTER = env.int("SESSION_STUCK_AFTER", default=60)
# Largest frame accepted (bytes); larger ones close the socket with 1009 (S10, R21). The ASGI
# server enforces the same limit (`--ws-max-size` in the Makefile).
OCPP_MAX_FRAME_BYTES = env.int("OCPP_MAX_FRAME_BYTES", default=1024 * 1024)
# Group-commit rounds written at the same time on PostgreSQL (one connection each): while one
# waits for its commit, the next is written. More writers make smaller rounds, which cost more
# CPU per message (3 measured 10 % fewer messages/s than 2). SQLite always has one.
OCPP_GROUP_COMMIT_WRITERS = env.int("OCPP_GROUP_COMMIT_WRITERS", default=2)
# The server's garbage collections on a clock (common/garbage.py): the young generation every
# GC_YOUNG_COLLECTION_INTERVAL seconds (each a few ms), the whole heap every
# GC_FULL_COLLECTION_INTERVAL seconds (each pauses the process for about 0.5 s at 10,000
# connections).
GC_YOUNG_COLLECTION_INTERVAL = env.float("GC_YOUNG_COLLECTION_INTERVAL", default=0.1)
GC_FULL_COLLECTION_INTERVAL = env.float("GC_FULL_COLLECTION_INTERVAL", default=600)
# Pending connections the listening socket queues (a reconnect storm after a restart).
OCPP_LISTEN_BACKLOG = env.int("OCPP_LISTEN_BACKLOG", default=8192)
# WebSocket pings (s): a charger that does not answer within the timeout is disconnected
# and shown offline (R22; OCPP-J 1.6 errata 3.11 on half-open connections).
OCPP_WS_PING_INTERVAL = env.float("OCPP_WS_PING_INTERVAL", default=20.0)
OCPP_WS_PING_TIMEOUT = env.float("OCPP_WS_PING_TIMEOUT", default=20.0)
# Addresses of reverse proxies whose X-Forwarded-Proto/-For headers are believed (S4): uvicorn
# then takes the client's address from X-Forwarded-For, for the rate limits and the login
# lockout; from any other peer the header is ignored. Comma-separated; "*" trusts every peer.
TRUSTED_PROXIES = env("TRUSTED_PROXIES", default="127.0.0.1")
# --- TLS and client certificates (security profiles 2 and 3, ocpp_gateway/tls.py) ----------
# With OCPP_TLS_CERT_FILE set, `manage.py serve` terminates TLS itself (TLS 1.2 at least,
# whitepaper A00.FR.416) with that certificate (PEM, chain included) and key. Without it, TLS
# is a proxy's job (X-Forwarded-Proto from TRUSTED_PROXIES).
OCPP_TLS_CERT_FILE = env("OCPP_TLS_CERT_FILE", default="")
OCPP_TLS_KEY_FILE = env("OCPP_TLS_KEY_FILE", default="")
# The charging-station CA (PEM bundle) that profile-3 client certificates must be issued by
# directly. serve asks every client for a certificate but lets one without connect (profile
# 1/2 chargers have none); one from another CA fails the TLS handshake. Also checked for
# certificates arriving in OCPP_CLIENT_CERT_HEADER.
OCPP_TLS_CLIENT_CA_FILE = env("OCPP_TLS_CLIENT_CA_FILE", default="")
# Behind a TLS-terminating proxy: the request header carrying the client certificate it
# verified, URL-escaped PEM (nginx: proxy_set_header X-SSL-Client-Cert $ssl_client_escaped_cert).
# Believed only from a TCP peer in TRUSTED_PROXIES; blank: no header is believed.
OCPP_CLIENT_CERT_HEADER = env("OCPP_CLIENT_CERT_HEADER", default="")
# --- Rate limits at the charger boundary (S11, R21, S24; ocpp_gateway/throttle.py) ---------
# Token buckets per server process, as "count/period" ("10/minute", "1000/20s"; a count of 0
# turns a limit off): a quiet client may spend `count` at once, then count/period per second.
# Addresses are the TCP peer's, or X-Forwarded-For's when the peer is one of TRUSTED_PROXIES.
# Over a limit, the handshake is refused with HTTP 429 (and Retry-After) before any database
# lookup or key hashing.
# All handshakes from one address: sheds a flood. Many chargers may share one address (a site
# behind NAT, cellular modems behind carrier-grade NAT), so the default lets 1,000 reconnect at
# once and 50 more every second; the load benchmark, 10,000 simulated chargers on 127.0.0.1,
# turns it off (bench/servers.py).
OCPP_HANDSHAKES_PER_ADDRESS = env("OCPP_HANDSHAKES_PER_ADDRESS", default="1000/20s")
# Failed handshakes (unknown or invalid id, wrong or missing key: 404/401/403) per address and
# per charge point id. The first failure that uses up a limit is recorded as a security event
# (HandshakeFailuresThrottled). A misconfigured charger retrying every few seconds still gets
# an answer every few seconds; someone guessing ids or keys gets 429s. Note: failures for an id
# also refuse the real charger's new handshakes with 429 while they last (its open socket is
# unaffected); the per-id default keeps that to seconds once the guessing stops.
OCPP_HANDSHAKE_FAILURES_PER_ADDRESS = env("OCPP_HANDSHAKE_FAILURES_PER_ADDRESS", default="60/minute")
OCPP_HANDSHAKE_FAILURES_PER_ID = env("OCPP_HANDSHAKE_FAILURES_PER_ID", default="10/minute")
# CALLs per charger connection: OCPP_CALLS_PER_SECOND sustained, OCPP_CALL_BURST at once. A
# charger sends one CALL at a time and waits for its answer (OCPP-J 1.6 sec. 4.1.1), so only a
# fast offline replay comes near this: boot (a StatusNotification per connector) and a replay of
# 500 messages fit the burst. CALLs over the limit are answered with CALLERROR GenericError (a
# "failure to process" that the charger retries after TransactionMessageRetryInterval, OCPP-J
# 1.6 errata 3.3); after OCPP_CALL_FLOOD_CLOSE_AFTER more refused CALLs (refilled at the same
# rate) the socket is closed with 1008 (policy violation). 0 turns either off.
OCPP_CALLS_PER_SECOND = env.float("OCPP_CALLS_PER_SECOND", default=50.0)
OCPP_CALL_BURST = env.int("OCPP_CALL_BURST", default=500)
OCPP_CALL_FLOOD_CLOSE_AFTER = env.int("OCPP_CALL_FLOOD_CLOSE_AFTER", default=500)
# How long (s) a command may wait in the queue for an offline charger, per intent kind (R16).
OCPP_COMMAND_EXPIRY_SECONDS = {
    "default": env.int("OCPP_COMMAND_EXPIRY_DEFAULT", default=24 * 3600),
    "remote_start": 120,
    "remote_stop": 600,
    "unlock": 120,
    "reset": 600,
    "reserve": 300,
}
# Commands that are safe to repeat are retried after a timeout, at most this many attempts
# in all, waiting OCPP_COMMAND_RETRY_BACKOFF * 2^(attempt-1) seconds before each retry.
OCPP_COMMAND_MAX_ATTEMPTS = env.int("OCPP_COMMAND_MAX_ATTEMPTS", default=3)
OCPP_COMMAND_RETRY_BACKOFF = env.float("OCPP_COMMAND_RETRY_BACKOFF", default=30.0)
# How long (s) a request waits for the channel layer to take a command's notification; a
# notification that fails (Redis down) fails nothing: the command stays queued (R26).
OCPP_NOTIFY_TIMEOUT = env.float("OCPP_NOTIFY_TIMEOUT", default=2.0)
# A command still queued this long (s) after it was requested, for a charger that is online, is
# notified again by the periodic dispatcher (its first notification was lost).
OCPP_COMMAND_REDISPATCH_AFTER = env.float("OCPP_COMMAND_REDISPATCH_AFTER", default=5.0)
# URLs sent to chargers (UpdateFirmware, GetDiagnostics) may name loopback, private or link-local
# addresses only when this is set: for closed networks whose firmware server is internal (S20).
OCPP_ALLOW_PRIVATE_URLS = env.bool("OCPP_ALLOW_PRIVATE_URLS", default=False)
# Certificates (1.6 security whitepaper A02/A03, M03-M05; 2.0.1 the same): who signs a charger's
# accepted CSR (a dotted path to a class, sites.certificates.signing.CertificateSigner); the
# built-in CA's certificate and key files (the key stays in its file, never in the database);
# how long the certificates it issues are valid, and how long before expiry a renewal is asked.
OCPP_CERTIFICATE_SIGNER = env("OCPP_CERTIFICATE_SIGNER", default="sites.certificates.signing.BuiltinCaSigner")
OCPP_CA_CERT_FILE = env("OCPP_CA_CERT_FILE", default="")
OCPP_CA_KEY_FILE = env("OCPP_CA_KEY_FILE", default="")
OCPP_CERTIFICATE_VALIDITY_DAYS = env.int("OCPP_CERTIFICATE_VALIDITY_DAYS", default=365)
OCPP_CERTIFICATE_RENEW_BEFORE_DAYS = env.int("OCPP_CERTIFICATE_RENEW_BEFORE_DAYS", default=30)
# How long (s) the central system waits for a charger's reply to its CALL.
OCPP_CALL_TIMEOUT = env.float("OCPP_CALL_TIMEOUT", default=30.0)
# How often (s) a busy connection refreshes the charger's last-seen time in the database.
OCPP_TOUCH_INTERVAL = env.int("OCPP_TOUCH_INTERVAL", default=30)
# Message ids remembered per charger to answer retransmitted CALLs without a second effect (R1).
OCPP_DUPLICATE_WINDOW = env.int("OCPP_DUPLICATE_WINDOW", default=32)
# Expected faults (bad frames, database outages) are logged as one line without a traceback,
# at most once per this many seconds per charger and kind; the next line counts the rest
# (ocpp_gateway.fault_log).
OCPP_FAULT_LOG_INTERVAL = env.float("OCPP_FAULT_LOG_INTERVAL", default=60.0)

# --- Celery ---------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="")
# No broker configured: run tasks in-process, so the embedded default needs no server.
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
if not CELERY_BROKER_URL:
    CELERY_BROKER_URL = "memory://"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE: dict = {
    "expire-commands": {"task": "sites.tasks.expire_commands_task", "schedule": 60.0},
    # Retries whose backoff passed, and commands whose notification was lost (R26).
    "dispatch-due-commands": {
        "task": "sites.tasks.dispatch_due_commands_task",
        "schedule": env.float("OCPP_COMMAND_DISPATCH_SECONDS", default=10.0),
    },
    "expire-reservations": {"task": "charging.tasks.expire_reservations_task", "schedule": 60.0},
    "sweep-offline-chargers": {
        "task": "sites.tasks.sweep_offline_chargers_task",
        "schedule": env.float("OCPP_OFFLINE_SWEEP_SECONDS", default=60.0),
    },
    # Renewal of the certificates we issued before they lapse (A02 triggered by the CSMS).
    "renew-charger-certificates": {"task": "sites.tasks.renew_charger_certificates_task", "schedule": 3600.0},
}

# --- OCPP message log -----------------------------------------------------------------
# Every frame in and out is buffered in-process and written in batches (ocpp_gateway.message_log).
OCPP_MESSAGE_LOG_ENABLED = env.bool("OCPP_MESSAGE_LOG_ENABLED", default=True)
OCPP_MESSAGE_LOG_FLUSH_SECONDS = env.float("OCPP_MESSAGE_LOG_FLUSH_SECONDS", default=0.5)
# Rows held while the database is slow or down; beyond this the oldest are dropped (and counted).
OCPP_MESSAGE_LOG_MAX_BUFFER = env.int("OCPP_MESSAGE_LOG_MAX_BUFFER", default=50_000)
# Frames older than this are deleted by the daily prune task; 0 keeps them forever.
OCPP_MESSAGE_LOG_RETENTION_DAYS = env.int("OCPP_MESSAGE_LOG_RETENTION_DAYS", default=30)
CELERY_BEAT_SCHEDULE["prune-ocpp-message-log"] = {
    "task": "ocpp_gateway.tasks.prune_message_log_task",
    "schedule": 24 * 60 * 60.0,  # daily, in seconds
}

# --- Reports ----------------------------------------------------------------------------
# Exports are written under MEDIA_ROOT/reports/ and downloaded through tenant-checked views only.
# A PDF holds at most this many rows: WeasyPrint lays out the whole document in memory.
REPORTS_PDF_MAX_ROWS = env.int("REPORTS_PDF_MAX_ROWS", default=5000)
# How often (rows) a running export records its progress.
REPORTS_PROGRESS_EVERY = env.int("REPORTS_PROGRESS_EVERY", default=500)

# --- Command batches (sites.commands.batches) ----------------------------------------------
# A batch queues this many commands at a time, then pauses: thousands of chargers get their
# commands as a steady trickle that never crowds the chargers' own traffic.
COMMAND_BATCH_CHUNK = env.int("COMMAND_BATCH_CHUNK", default=50)
COMMAND_BATCH_PAUSE_SECONDS = env.float("COMMAND_BATCH_PAUSE_SECONDS", default=1.0)

# --- Metrics (integrations.metrics) -----------------------------------------------------------
# /api/metrics (and /metrics) answers a bearer token (METRICS_TOKEN), a platform administrator
# signed in to the admin, or these addresses (CIDR). The gateway's counts are copied into the
# metrics every METRICS_FLUSH_SECONDS (0: only when scraped). Several processes: set
# PROMETHEUS_MULTIPROC_DIR in all of them (an empty directory, emptied before they start).
METRICS_TOKEN = env("METRICS_TOKEN", default="")
# Loopback by default, except in production, where a reverse proxy on the same host would make
# every request look local: there, a token (or addresses set explicitly).
METRICS_ALLOWED_ADDRESSES = env.list(
    "METRICS_ALLOWED_ADDRESSES", default=[] if PRODUCTION else ["127.0.0.1/32", "::1/128"]
)
METRICS_FLUSH_SECONDS = env.float("METRICS_FLUSH_SECONDS", default=5.0)
# A scrape asks the Celery broker for its queue's depth, waiting at most this long.
METRICS_BROKER_TIMEOUT_SECONDS = env.float("METRICS_BROKER_TIMEOUT_SECONDS", default=2.0)

# --- Alerts (reports.alerts) ------------------------------------------------------------
# A charger not heard from for this many minutes raises an "offline" alert; the sweep that
# raises and resolves alerts runs this often (seconds).
ALERTS_OFFLINE_AFTER = env.int("ALERTS_OFFLINE_AFTER", default=15)
ALERTS_SWEEP_SECONDS = env.float("ALERTS_SWEEP_SECONDS", default=60.0)
CELERY_BEAT_SCHEDULE["sweep-alerts"] = {"task": "reports.tasks.sweep_alerts_task", "schedule": ALERTS_SWEEP_SECONDS}
# Alert emails: EMAIL_URL as django-environ reads it (smtp://user:password@host:587, with
# ?ssl=True or +tls), printed to the console by default.
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="csms@localhost")
# Where people reach this system: links in emails are made from it.
CSMS_BASE_URL = env("CSMS_BASE_URL", default="http://127.0.0.1:8000")

# --- Django REST framework ------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # People's tokens and API clients' (client credentials, accounts.api_clients).
        "accounts.authentication.ScopedJWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # Documents every operation's error answers (400/401/403/404/429) in the error shape.
    "DEFAULT_SCHEMA_CLASS": "common.api_schema.ErrorDocumentingSchema",
    "DEFAULT_FILTER_BACKENDS": [
        # django-filter with related ids as plain integers: an unknown id filters to nothing.
        "common.api_filters.FilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "common.api.Pagination",
    "EXCEPTION_HANDLER": "common.api.error_body",
    "PAGE_SIZE": 50,
    # API rate limits (S24; csms/throttling.py): requests per authenticated user, per address
    # without credentials, and logins (POST /api/v1/auth/token) per address, as "count/second|
    # minute|hour|day". Over a limit: 429 with Retry-After. Counted in the cache below, shared
    # by all processes with Redis; if the cache is unreachable the limits are off (logged).
    "DEFAULT_THROTTLE_CLASSES": [
        "csms.throttling.UserThrottle",
        "csms.throttling.AnonThrottle",
        "csms.throttling.LoginThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "user": env("API_THROTTLE_USER", default="1200/minute"),
        "anon": env("API_THROTTLE_ANON", default="60/minute"),
        "login": env("API_THROTTLE_LOGIN", default="20/minute"),
    },
    # The client's address is REMOTE_ADDR, which uvicorn already takes from X-Forwarded-For
    # only when the peer is one of TRUSTED_PROXIES; DRF would otherwise believe any client's
    # X-Forwarded-For.
    "NUM_PROXIES": 0,
}

# JWT for the partner API (S18): short-lived access tokens, rotated refresh tokens whose old
# copies are blacklisted, one pinned algorithm.
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": datetime.timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=5)),
    "REFRESH_TOKEN_LIFETIME": datetime.timedelta(days=env.int("JWT_REFRESH_DAYS", default=1)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": env("JWT_SIGNING_KEY", default=SECRET_KEY),
    "USER_ID_FIELD": "id",
}

# API clients' access tokens (client credentials) live this long; they ask for a new one.
API_CLIENT_TOKEN_MINUTES = env.int("API_CLIENT_TOKEN_MINUTES", default=15)

SPECTACULAR_SETTINGS = {
    "TITLE": "CSMS partner API",
    "DESCRIPTION": "Chargers, sessions, id tokens and commands of your organizations.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Partners read the documentation before they have a token; it holds no data.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Named after their model: several serializers share them, and "kind"/"status" mean other
    # choices elsewhere.
    "ENUM_NAME_OVERRIDES": {
        "IdTokenKindEnum": "charging.models.IdTokenKind",
        "IdTokenStatusEnum": "charging.models.IdTokenStatus",
        "ExportFormatEnum": "reports.models.ExportFormat",
        "MessageExportFormatEnum": "reports.api.views.MESSAGE_FORMAT_CHOICES",
        "OcppVersionEnum": "sites.models.OcppVersion",
        "ConnectorStatusEnum": "sites.models.ConnectorStatus",
        "RegistrationStatusEnum": "sites.models.RegistrationStatus",
        "AlertKindEnum": "reports.models.AlertKind",
        "AlertEventKindEnum": "integrations.event_schema.ALERT_KINDS",
        "SecurityEventSourceEnum": "sites.models.SecurityEvent.Source",
        "SecurityEventSeverityEnum": "sites.models.SecurityEvent.Severity",
        "ChargingProfileKindEnum": "charging.models.ChargingProfile.Kind",
        "ChargingProfilePurposeEnum": "charging.models.ChargingProfile.Purpose",
        "ReservationStatusEnum": "charging.models.ReservationStatus",
        "ChargingProfileAssignmentStatusEnum": "charging.models.ChargingProfileAssignment.Status",
        "CommandStatusEnum": "sites.models.CommandStatus",
    },
}

# --- django-import-export -------------------------------------------------------------
# Strips a leading "=" on export; common.spreadsheet.FormulaSafeExportMixin does the full
# escaping (=, +, -, @, tab, CR) on every resource, this stays on as a second layer (S21).
IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT = True
IMPORT_EXPORT_USE_TRANSACTIONS = True
IMPORT_EXPORT_SKIP_ADMIN_LOG = False

# --- Admin theme ----------------------------------------------------------------------
from csms.navigation import SIDEBAR_NAVIGATION  # noqa: E402  (URLs resolved lazily, at request time)

# A direct login at /admin/login/ lands on the dashboard, not on Django's /accounts/profile/.
LOGIN_URL = "admin:login"
LOGIN_REDIRECT_URL = "admin:index"

UNFOLD = {
    "SITE_TITLE": "CSMS",
    "SITE_URL": "/admin/",
    "SITE_FAVICONS": [{"rel": "icon", "type": "image/svg+xml", "href": lambda request: static("csms/favicon.svg")}],
    "SITE_HEADER": "Charging network",
    "SHOW_HISTORY": True,
    "SHOW_VIEW_ON_SITE": False,
    "DASHBOARD_CALLBACK": "reports.dashboard.dashboard_callback",
    "SIDEBAR": {"show_search": True, "show_all_applications": False, "navigation": SIDEBAR_NAVIGATION},
}

# The dashboard's map tiles; an empty URL shows the markers on a blank map (closed networks).
DASHBOARD_TILE_URL = env("DASHBOARD_TILE_URL", default="https://tile.openstreetmap.org/{z}/{x}/{y}.png")
DASHBOARD_TILE_ATTRIBUTION = env(
    "DASHBOARD_TILE_ATTRIBUTION", default='&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>'
)

# --- Integrations (issue 20) ----------------------------------------------------------
# Outbound events (integrations.events) to a Redis stream per organization: set the Redis URL
# to turn it on (it may be REDIS_URL's server). Events are built and sent by a background thread
# every INTEGRATIONS_FLUSH_SECONDS, never on the charger's path.
INTEGRATIONS_EVENT_STREAM_URL = env("INTEGRATIONS_EVENT_STREAM_URL", default="")
INTEGRATIONS_EVENT_STREAM_PREFIX = env("INTEGRATIONS_EVENT_STREAM_PREFIX", default="csms:events")
INTEGRATIONS_EVENT_STREAM_MAXLEN = env.int("INTEGRATIONS_EVENT_STREAM_MAXLEN", default=100_000)
# The same events live on /ws/events for API clients (JWT), through the channel layer.
INTEGRATIONS_EVENT_SOCKET = env.bool("INTEGRATIONS_EVENT_SOCKET", default=False)
INTEGRATIONS_FLUSH_SECONDS = env.float("INTEGRATIONS_FLUSH_SECONDS", default=0.5)
INTEGRATIONS_MAX_BUFFER = env.int("INTEGRATIONS_MAX_BUFFER", default=100_000)
# session.updated: at most one event per session per this many seconds, however often it reports.
INTEGRATIONS_SESSION_UPDATE_SECONDS = env.float("INTEGRATIONS_SESSION_UPDATE_SECONDS", default=60.0)
# Signed webhooks (integrations.webhooks): on unless set false. A receiver gets this many
# seconds to answer; a subscription failing this many hours is paused. http:// URLs and
# addresses of our own network (loopback, private, link-local) only where these allow them (S20).
INTEGRATIONS_WEBHOOKS = env.bool("INTEGRATIONS_WEBHOOKS", default=True)
INTEGRATIONS_WEBHOOK_TIMEOUT = env.float("INTEGRATIONS_WEBHOOK_TIMEOUT", default=5.0)
INTEGRATIONS_WEBHOOK_PAUSE_AFTER = env.float("INTEGRATIONS_WEBHOOK_PAUSE_AFTER", default=24.0)
INTEGRATIONS_WEBHOOKS_ALLOW_HTTP = env.bool("INTEGRATIONS_WEBHOOKS_ALLOW_HTTP", default=False)
INTEGRATIONS_WEBHOOKS_ALLOW_PRIVATE = env.bool("INTEGRATIONS_WEBHOOKS_ALLOW_PRIVATE", default=False)
CELERY_BEAT_SCHEDULE["retry-webhooks"] = {"task": "integrations.tasks.retry_due_webhooks_task", "schedule": 30.0}
# Deliveries (delivered or not) older than this many days are deleted daily; 0 keeps them.
INTEGRATIONS_WEBHOOK_RETENTION_DAYS = env.int("INTEGRATIONS_WEBHOOK_RETENTION_DAYS", default=30)
CELERY_BEAT_SCHEDULE["prune-webhook-deliveries"] = {
    "task": "integrations.tasks.prune_webhook_deliveries_task",
    "schedule": 24 * 60 * 60.0,  # daily, in seconds
}

# What /api/v1/status reports as the running release (set by the deployment, e.g. a git tag).
CSMS_VERSION = env("CSMS_VERSION", default="development")

LOG_LEVEL = env("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"outage_without_traceback": {"()": "csms.log_filters.OutageWithoutTraceback"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["outage_without_traceback"]}
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
}
