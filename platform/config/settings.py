"""Mallard settings: everything from the environment (12-factor), with safe defaults for the demo."""
import os
import sys
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONCE

BASE_DIR = Path(__file__).resolve().parent.parent.parent  # the repository root
env = os.environ.get

DEBUG = env("MALLARD_DEBUG", "0") == "1"
SECRET_KEY = env("SECRET_KEY", "mallard-demo-secret-key-change-me-in-production-0123456789")
MALL_HOST = env("MALL_HOST", "localhost").lower()  # merchants live at <slug>.<MALL_HOST>; hosts are matched lower-cased
ALLOWED_HOSTS = [MALL_HOST, f".{MALL_HOST}", "127.0.0.1", "testserver", ".testserver"]
CSRF_TRUSTED_ORIGINS = [f"http://*.{MALL_HOST}", f"https://*.{MALL_HOST}", f"http://{MALL_HOST}"]
if env("CSRF_TRUSTED_ORIGINS"):
    CSRF_TRUSTED_ORIGINS += env("CSRF_TRUSTED_ORIGINS", "").split(",")

SHARED_APPS = [
    "django_tenants",
    "core.apps.CoreConfig",
    "tenants.apps.TenantsConfig",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",  # trigram search on the storefront listing index
    "django.contrib.admin",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "permissions.apps.PermissionsConfig",
    "merchants.apps.MerchantsConfig",
    "orders.apps.OrdersConfig",
    "payments.apps.PaymentsConfig",
    "support.apps.SupportConfig",
    "notifications.apps.NotificationsConfig",
    "reports.apps.ReportsConfig",
    "storefront.apps.StorefrontConfig",
    "console.apps.ConsoleConfig",
    "carriers.apps.CarriersConfig",
    "webhooks.due_index.apps.WebhooksDueIndexConfig",  # public due index of merchant webhook deliveries
    "accounts.apps.AccountsConfig",  # shoppers' sign-up, email verification, address book, guest order lookup
    "imports.apps.ImportsConfig",  # channel order import jobs (public: the operator's and every store's)
    "returns.due_index.apps.ReturnsDueIndexConfig",  # public due index of return deadlines
    "axes",  # failed sign-ins and lockouts, kept in public for every host (see "Sign-in lockout" below)
    "django_otp",  # second factor: devices live in public beside the users (see "Second factor" below)
    "django_otp.plugins.otp_totp",
    "csp",
]
# Tables that live in every merchant's schema (the merchant's books).
TENANT_APPS = [
    "guardian",
    "catalog.apps.CatalogConfig",
    "suborders.apps.SubordersConfig",
    "fulfillment.apps.FulfillmentConfig",
    "webhooks.apps.WebhooksConfig",  # the merchant's webhook endpoints and deliveries
    "automation.apps.AutomationConfig",
    "returns.apps.ReturnsConfig",  # returns (RMA), exchanges, refund-only requests
]
INSTALLED_APPS = list(SHARED_APPS) + [a for a in TENANT_APPS if a not in SHARED_APPS]

TENANT_MODEL = "tenants.Merchant"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_NAME = "public"
TEMPLATE_SCHEMA_NAME = "merchant_template"  # cloned for every new merchant, see tenants.services
PUBLIC_SCHEMA_URLCONF = "config.urls_public"
ROOT_URLCONF = "config.urls_tenant"
SHOW_PUBLIC_IF_NO_TENANT_FOUND = False
TENANT_LIMIT_SET_CALLS = True
DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)
TENANT_MULTIPROCESSING_MAX_PROCESSES = int(env("MALLARD_MIGRATE_PROCESSES", "4"))

MIDDLEWARE = [
    "core.middleware.RequestIdMiddleware",
    "permissions.middleware.AuditContextMiddleware",
    "tenants.middleware.MerchantRoutingMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "core.middleware.HostileInputMiddleware",  # NUL, oversized bodies, too many fields: refused before any view
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",  # request.user.is_verified(): signed in with the second factor
    "core.middleware.ViewerTimezoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "permissions.middleware.SecondFactorRequiredMiddleware",  # owners and operators enrol first, when the operator says so
    "permissions.middleware.MerchantMembershipMiddleware",
    "core.middleware.DomainErrorPageMiddleware",
    "axes.middleware.AxesMiddleware",  # turns a locked-out sign-in into permissions.lockout.lockout_response
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "platform" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.context_processors.mallard",
                "merchants.nav.dashboard_nav",
                "storefront.context_processors.cart_badge",
            ],
        },
    },
]
WSGI_APPLICATION = "config.wsgi.application"

_db_url = env("DATABASE_URL")
if not _db_url:
    from config.embedded_pg import ensure_database_url

    _db_url = ensure_database_url()
DATABASES = {"default": dj_database_url.parse(_db_url, conn_max_age=int(env("DB_CONN_MAX_AGE", "60")))}
DATABASES["default"]["ENGINE"] = "django_tenants.postgresql_backend"
# Server-side parameter binding, so psycopg can use server-side prepared statements: a statement run
# more than DB_PREPARE_THRESHOLD times on a connection is parsed and planned once per connection (the
# checkout's CTE statements cost 0.3-1.8 ms each to plan; docs/benchmarks.md). Statements are
# per connection: fine with persistent connections or a session pooler; set DB_PREPARE_THRESHOLD=off
# behind a transaction-mode pooler (that also returns to client-side binding).
if env("DB_PREPARE_THRESHOLD", "2") != "off":
    DATABASES["default"]["OPTIONS"] = {**DATABASES["default"].get("OPTIONS", {}), "server_side_binding": True,
                                       "prepare_threshold": int(env("DB_PREPARE_THRESHOLD", "2"))}
DATABASES["default"].setdefault("TEST", {})["NAME"] = env("MALLARD_TEST_DB", "test_mallard")

AUTH_USER_MODEL = "permissions.User"
AUTHENTICATION_BACKENDS = [
    "permissions.lockout.LockoutBackend",  # first: refuses a locked-out account or IP before any password check
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
PASSWORD_HASHERS = (
    ["django.contrib.auth.hashers.MD5PasswordHasher"]
    if env("MALLARD_FAST_HASHER") == "1"  # tests only: PBKDF2 would dominate the suite's run time
    else ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
)

# Sign-in lockout (django-axes): MALLARD_LOGIN_FAILURES failed sign-ins for one email, or
# MALLARD_LOGIN_IP_FAILURES from one IP address (any emails), lock that email or IP for
# MALLARD_LOGIN_COOLOFF_MINUTES, on every host and in the admin. Failures older than the cool-off
# are forgotten. Known and unknown emails are counted and answered alike. docs/operator-guide.md.
AXES_ENABLED = env("MALLARD_LOGIN_LOCKOUT", "1") == "1"
AXES_FAILURE_LIMIT = int(env("MALLARD_LOGIN_FAILURES", "5"))
AXES_IP_FAILURE_LIMIT = int(env("MALLARD_LOGIN_IP_FAILURES", "30"))  # read by permissions.lockout.LockoutHandler
AXES_COOLOFF_TIME = timedelta(minutes=int(env("MALLARD_LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_HANDLER = "permissions.lockout.LockoutHandler"
AXES_LOCKOUT_CALLABLE = "permissions.lockout.lockout_response"
AXES_USERNAME_FORM_FIELD = "username"  # the sign-in forms' field (it holds the email)
AXES_USERNAME_CALLABLE = "permissions.lockout.username_of"  # lower-cased: Owner@x and owner@x are one account
AXES_RESET_ON_SUCCESS = True  # a successful sign-in clears that email's failures
AXES_DISABLE_ACCESS_LOG = True  # successful sign-ins are in the audit trail already
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # the lock ends on time even if the attacker keeps trying
AXES_VERBOSE = False
# The client address: REMOTE_ADDR unless the operator says how many proxies stand in front
# (MALLARD_PROXY_COUNT, X-Forwarded-For read from the right); a client cannot pick its own IP.
MALLARD_PROXY_COUNT = int(env("MALLARD_PROXY_COUNT", "0"))
AXES_CLIENT_IP_CALLABLE = "permissions.lockout.client_ip"

# Second factor (django-otp's TOTP device): anyone may enrol at /accounts/security/; a user with a
# device types a code after the password, in the same sign-in (permissions/second_factor.py), and a
# wrong code counts as a failed sign-in above. The operator can require it of owners and operators
# (console, "Security"). The QR code is drawn by us (segno); the issuer is what authenticator apps show.
OTP_TOTP_ISSUER = env("MALLARD_OTP_ISSUER", "Mallard")
OTP_ADMIN_HIDE_SENSITIVE_DATA = True  # nobody reads a user's key back, operators included
SECOND_FACTOR_PENDING_SECONDS = int(env("MALLARD_SECOND_FACTOR_SECONDS", "300"))  # password -> code, at most

# HTTPS (MALLARD_HTTPS=1 in production behind TLS; off for the demo on http://localhost):
# Secure cookies, HSTS, redirect to https. Behind a TLS-terminating proxy also set
# MALLARD_PROXY_SSL_HEADER=1 so X-Forwarded-Proto: https is believed (only if the proxy sets it).
MALLARD_HTTPS = env("MALLARD_HTTPS", "0") == "1"
if env("MALLARD_PROXY_SSL_HEADER", "0") == "1":
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = LANGUAGE_COOKIE_SECURE = MALLARD_HTTPS
SECURE_SSL_REDIRECT = MALLARD_HTTPS and env("MALLARD_SSL_REDIRECT", "1") == "1"
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain HTTP
SECURE_HSTS_SECONDS = int(env("MALLARD_HSTS_SECONDS", "31536000")) if MALLARD_HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = True  # every merchant lives on a subdomain of the mall host
SECURE_HSTS_PRELOAD = env("MALLARD_HSTS_PRELOAD", "0") == "1"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp): scripts only from our own origin or inline blocks carrying
# the request's nonce (templates write <script nonce="{{ request.csp_nonce }}">; no inline event
# handlers: platform/static/mallard.js wires data-autosubmit and friends). Inline style attributes
# stay allowed: they cannot run code. Product images may come from any https/http URL.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", NONCE],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "https:", "http:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'", "https:", "http:"],  # payment gateways' hosted pages take form posts
        "frame-ancestors": ["'none'"],
    },
}

# Request size limits: forms and JSON bodies up to DATA_UPLOAD_MAX_MEMORY_SIZE, uploads (catalog
# import, tracking CSV/XLSX) up to MALLARD_MAX_UPLOAD_BYTES; larger ones get a 413 page or JSON
# error (core.middleware.HostileInputMiddleware), as do more than DATA_UPLOAD_MAX_NUMBER_FIELDS fields.
DATA_UPLOAD_MAX_MEMORY_SIZE = int(env("MALLARD_MAX_BODY_BYTES", str(2_621_440)))
DATA_UPLOAD_MAX_NUMBER_FIELDS = int(env("MALLARD_MAX_FORM_FIELDS", "1000"))
DATA_UPLOAD_MAX_NUMBER_FILES = 20
MALLARD_MAX_UPLOAD_BYTES = int(env("MALLARD_MAX_UPLOAD_BYTES", str(20 * 1024 * 1024)))
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440  # larger uploads go to a temporary file, not memory

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"  # the database and logs; pages use the viewer's zone (core.middleware.ViewerTimezoneMiddleware)
DISPLAY_TIME_ZONE = env("DISPLAY_TIME_ZONE", "Asia/Shanghai")  # before the browser has told us its zone
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
WHITENOISE_USE_FINDERS = True  # serve app static files without a collectstatic step (demo, tests)
STATICFILES_DIRS = [BASE_DIR / "platform" / "static"]
# Uploaded product images (catalog.images) go through Django's storage API; the default is the disk
# under var/media served at /media/ by storefront.media.serve_media (set STORAGES["default"] to an
# object-storage backend in production and the URLs follow). MALLARD_MAX_IMAGE_BYTES bounds one image.
MEDIA_ROOT = env("MALLARD_MEDIA_ROOT", str(BASE_DIR / "var" / "media"))
MEDIA_URL = "/media/"
MALLARD_MAX_IMAGE_BYTES = int(env("MALLARD_MAX_IMAGE_BYTES", str(5 * 1024 * 1024)))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL, "KEY_FUNCTION": "core.tenancy.make_cache_key"}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "KEY_FUNCTION": "core.tenancy.make_cache_key"}
    )
}

# Celery: Redis or RabbitMQ in production; with neither configured, the broker is the
# embedded PostgreSQL itself through kombu's SQLAlchemy transport (nothing extra to install).
CELERY_BROKER_URL = env("CELERY_BROKER_URL") or REDIS_URL or ("sqla+" + _db_url.replace("postgres://", "postgresql+psycopg://", 1))
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
from celery.schedules import crontab  # noqa: E402  nightly jobs

CELERY_BEAT_SCHEDULE = {
    "outbox-relay": {"task": "core.tasks.outbox_relay", "schedule": 5.0},
    "outbox-history-sweep": {"task": "core.tasks.outbox_sweep_history", "schedule": 3600.0},
    "expire-unpaid-orders": {"task": "orders.tasks.expire_unpaid_orders", "schedule": 60.0},
    "expire-stock-reservations": {"task": "catalog.tasks.expire_reservations_all", "schedule": 60.0},
    "payments-sweep": {"task": "payments.tasks.payments_sweep", "schedule": 300.0},
    "lifecycle-sweep": {"task": "orders.tasks.lifecycle_sweep", "schedule": 60.0},
    "returns-sweep": {"task": "returns.tasks.returns_sweep", "schedule": 60.0},
    "audit-seal": {"task": "permissions.tasks.audit_seal_pending", "schedule": 10.0},
    "webhooks-sweep": {"task": "webhooks.tasks.webhooks_sweep", "schedule": 5.0},
    "support-sla-sweep": {"task": "support.tasks.sla_sweep", "schedule": 60.0},  # ticket SLA warnings, breaches
    "restock-nightly": {"task": "reports.tasks.restock_all", "schedule": crontab(hour=2, minute=30)},  # one task per merchant
    "exports-sweep": {"task": "reports.tasks.exports_sweep", "schedule": 3600.0},  # expired export files
}

# The outbox (core.outbox): how long an outside effect may run before its delivery is made again (with the
# same key), how long delivered history is kept, and whether payloads are checked against <app>/events.py.
OUTBOX_LEASE_SECONDS = int(env("OUTBOX_LEASE_SECONDS", "300"))
OUTBOX_RETENTION_DAYS = int(env("OUTBOX_RETENTION_DAYS", "14"))
OUTBOX_CHECK_PAYLOADS = env("OUTBOX_CHECK_PAYLOADS", "1" if DEBUG or "pytest" in sys.modules else "0") == "1"
# Background exports (reports/exports.py): how long a finished export's file can be downloaded.
EXPORT_KEEP_DAYS = int(env("EXPORT_KEEP_DAYS", "7"))

EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = BASE_DIR / "var" / "mail"
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Mallard <no-reply@mallard.localhost>")
# Shoppers' SMS (notifications/sms/): "console" writes each message to SMS_FILE_PATH (the demo); "aliyun" sends
# through Aliyun SMS SendSms, each kind through its approved template code (docs/operator-guide.md).
SMS_PROVIDER = env("SMS_PROVIDER", "console")
SMS_FILE_PATH = Path(env("SMS_FILE_PATH", str(BASE_DIR / "var" / "sms")))
ALIYUN_SMS = {"endpoint": env("ALIYUN_SMS_ENDPOINT", "https://dysmsapi.aliyuncs.com/"),
              "access_key_id": env("ALIYUN_SMS_ACCESS_KEY_ID", ""), "access_key_secret": env("ALIYUN_SMS_ACCESS_KEY_SECRET", ""),
              "sign_name": env("ALIYUN_SMS_SIGN_NAME", ""), "template_codes": env("ALIYUN_SMS_TEMPLATE_CODES", "{}")}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "permissions.api_auth.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "core.api.MallardAutoSchema",  # error answers, bearer token, Idempotency-Key
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.CursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_CLASSES": ["core.ratelimit.ApiTokenRateThrottle"],  # per API token; sessions are not limited
}
# Per API token (core.ratelimit): a burst of requests at once, then so many a minute; 0 turns the limit off.
API_RATE_LIMIT_PER_MINUTE = int(env("API_RATE_LIMIT_PER_MINUTE", "600"))
API_RATE_LIMIT_BURST = int(env("API_RATE_LIMIT_BURST", "120"))
SPECTACULAR_SETTINGS = {
    "TITLE": "Mallard API",
    "DESCRIPTION": "Order management for multi-merchant malls. Merchant endpoints are served on the merchant's host.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,  # request bodies without the read-only fields of the answer
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "core.logging.ContextFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s [schema=%(schema)s req=%(request_id)s] %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["context"], "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Checkout
ORDER_UNPAID_TTL_MINUTES = int(env("ORDER_UNPAID_TTL_MINUTES", "30"))
# A shopper's request to cancel accepted items: the store decides within this many hours, else it is approved
# (suborders.cancellations; the lifecycle sweep finds due requests through the suborder mirror).
MALLARD_CANCELLATION_DECIDE_HOURS = int(env("MALLARD_CANCELLATION_DECIDE_HOURS", "48"))

# Payments: gateway keys from the environment (README, "Payment gateways"). A gateway is offered to
# shoppers when the operator enables it in the console and its keys are set; the sandbox needs none.
MALL_BASE_URL = env("MALL_BASE_URL", "")  # e.g. https://mall.example.com; else built from the request
SANDBOX_WEBHOOK_SECRET = env("SANDBOX_WEBHOOK_SECRET", "sandbox-demo-secret")
SANDBOX_DUPLICATE_RATE = float(env("SANDBOX_DUPLICATE_RATE", "0.3"))  # how often the sandbox sends a notification twice
PAYMENT_WEBHOOK_TOLERANCE_SECONDS = int(env("PAYMENT_WEBHOOK_TOLERANCE_SECONDS", "300"))
PAYMENT_AUTHORIZATION_DAYS = int(env("PAYMENT_AUTHORIZATION_DAYS", "7"))  # card authorizations lapse after this
PAYMENT_LAPSE_ACTION = env("PAYMENT_LAPSE_ACTION", "capture")  # capture | void, for authorizations about to lapse
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", "")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", "")
STRIPE_API_BASE = env("STRIPE_API_BASE", "")  # tests: the local Stripe server; empty = api.stripe.com
STRIPE_API_VERSION = "2026-10-28.endive"  # the version stripe==16.1.0 pins (stripe.api_version); bump both together
ALIPAY_APP_ID = env("ALIPAY_APP_ID", "")
ALIPAY_APP_PRIVATE_KEY = env("ALIPAY_APP_PRIVATE_KEY", "")  # PEM
ALIPAY_PUBLIC_KEY = env("ALIPAY_PUBLIC_KEY", "")  # Alipay's public key, PEM
ALIPAY_GATEWAY_URL = env("ALIPAY_GATEWAY_URL", "")  # empty = Alipay's production gateway
WECHATPAY_MCHID = env("WECHATPAY_MCHID", "")
WECHATPAY_APPID = env("WECHATPAY_APPID", "")
WECHATPAY_PRIVATE_KEY = env("WECHATPAY_PRIVATE_KEY", "")  # merchant API private key, PEM
WECHATPAY_CERT_SERIAL = env("WECHATPAY_CERT_SERIAL", "")
WECHATPAY_APIV3_KEY = env("WECHATPAY_APIV3_KEY", "")
WECHATPAY_PUBLIC_KEY = env("WECHATPAY_PUBLIC_KEY", "")  # WeChat Pay platform public key, PEM
WECHATPAY_PUBLIC_KEY_ID = env("WECHATPAY_PUBLIC_KEY_ID", "")
WECHATPAY_API_BASE = env("WECHATPAY_API_BASE", "")  # tests: the local WeChat Pay server

# Carrier tracking: signed webhooks on the mall host (docs/api.md, "Carrier tracking webhooks"), ETAs and flags.
TRACKING_WEBHOOK_SECRET = env("TRACKING_WEBHOOK_SECRET", "")  # HMAC key of POST /webhooks/tracking/; empty = all refused
KUAIDI100_SALT = env("KUAIDI100_SALT", "")  # the salt given to Kuaidi100 when subscribing; empty = every push refused
STAFF_INVITATION_DAYS = int(env("STAFF_INVITATION_DAYS", "7"))  # a staff invitation link works this long
ACCOUNT_VERIFY_DAYS = int(env("ACCOUNT_VERIFY_DAYS", "3"))  # a shopper's email verification link works this long
TRACKING_STALE_DAYS = int(env("TRACKING_STALE_DAYS", "3"))  # no carrier scan for this long: the parcel is flagged
TRACKING_DEFAULT_TRANSIT_DAYS = int(env("TRACKING_DEFAULT_TRANSIT_DAYS", "5"))  # ETA when no TransitTime row matches
TRACKING_HOME_COUNTRY = env("TRACKING_HOME_COUNTRY", "CN")  # a region written without its country (SH) is in this one

# Merchant webhooks (webhooks/, docs/api.md "Webhooks"): retried with exponential backoff (base, doubling,
# capped) for the window, then dead; an endpoint failing for DISABLE_AFTER_DAYS is disabled and its owner
# emailed. Outside DEBUG, URLs resolving to private/loopback/link-local/reserved addresses are refused
# unless MALLARD_WEBHOOKS_ALLOW_PRIVATE=1 (an on-premises mall whose merchants' systems are inside).
MALLARD_WEBHOOKS_ALLOW_PRIVATE = env("MALLARD_WEBHOOKS_ALLOW_PRIVATE", "0") == "1"
WEBHOOKS_RETRY_WINDOW_HOURS = int(env("MALLARD_WEBHOOKS_RETRY_HOURS", "24"))
WEBHOOKS_RETRY_BASE_SECONDS = int(env("MALLARD_WEBHOOKS_RETRY_BASE_SECONDS", "60"))
WEBHOOKS_RETRY_MAX_SECONDS = int(env("MALLARD_WEBHOOKS_RETRY_MAX_SECONDS", "14400"))
WEBHOOKS_DISABLE_AFTER_DAYS = int(env("MALLARD_WEBHOOKS_DISABLE_AFTER_DAYS", "3"))
WEBHOOKS_RETENTION_DAYS = int(env("MALLARD_WEBHOOKS_RETENTION_DAYS", "30"))  # finished deliveries kept (page, replays)
