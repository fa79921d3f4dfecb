"""Settings of the shop example: a Django project as it is deployed, nothing test-specific.

In tests, pytest-boss replaces the database's NAME, HOST, PORT, USER and PASSWORD with its
cluster's (`-p pytest_boss.django` in pytest.ini): no PostgreSQL server is needed here.
"""

import os

SECRET_KEY = "example-only"
DEBUG = False
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "shop",
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("SHOP_DB", "shop"),
        "HOST": os.environ.get("SHOP_DB_HOST", "db.internal"),
        "USER": "shop",
        "PASSWORD": os.environ.get("SHOP_DB_PASSWORD", ""),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
