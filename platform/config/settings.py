"""Mallard settings: everything from the environment (12-factor), with safe defaults for the demo."""
import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent.parent  # the repository root
env = os.environ.get

DEBUG = env("MALLARD_DEBUG", "0") == "1"
SECRET_KEY = env("SECRET_KEY", "mallard-demo-secret-key-change-me-in-production-0123456789")
MALL_HOST = env("MALL_HOST", "localhost")  # merchants live at <slug>.<MALL_HOST>
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
]
# Tables that live in every merchant's schema (the merchant's books).
TENANT_APPS = [
    "guardian",
    "catalog.apps.CatalogConfig",
    "suborders.apps.SubordersConfig",
    "fulfillment.apps.FulfillmentConfig",
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
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "core.middleware.ViewerTimezoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "permissions.middleware.MerchantMembershipMiddleware",
    "core.middleware.DomainErrorPageMiddleware",
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
CELERY_BEAT_SCHEDULE = {
    "outbox-relay": {"task": "core.tasks.outbox_relay", "schedule": 5.0},
    "expire-unpaid-orders": {"task": "orders.tasks.expire_unpaid_orders", "schedule": 60.0},
    "expire-stock-reservations": {"task": "catalog.tasks.expire_reservations_all", "schedule": 60.0},
    "payments-sweep": {"task": "payments.tasks.payments_sweep", "schedule": 300.0},
    "lifecycle-sweep": {"task": "orders.tasks.lifecycle_sweep", "schedule": 60.0},
    "audit-seal": {"task": "permissions.tasks.audit_seal_pending", "schedule": 60.0},
}

EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = BASE_DIR / "var" / "mail"
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Mallard <no-reply@mallard.localhost>")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "permissions.api_auth.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.CursorPagination",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Mallard API",
    "DESCRIPTION": "Order management for multi-merchant malls. Merchant endpoints are served on the merchant's host.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
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
TRACKING_STALE_DAYS = int(env("TRACKING_STALE_DAYS", "3"))  # no carrier scan for this long: the parcel is flagged
TRACKING_DEFAULT_TRANSIT_DAYS = int(env("TRACKING_DEFAULT_TRANSIT_DAYS", "5"))  # ETA when no TransitTime row matches
TRACKING_HOME_COUNTRY = env("TRACKING_HOME_COUNTRY", "CN")  # a region written without its country (SH) is in this one
