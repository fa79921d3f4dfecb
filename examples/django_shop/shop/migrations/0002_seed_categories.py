"""Data migration: the categories every shop starts with (in the template with the schema)."""

from django.db import migrations

CATEGORIES = ["books", "games", "tools"]


def seed(apps, schema_editor):
    Category = apps.get_model("shop", "Category")
    Category.objects.bulk_create(Category(name=name) for name in CATEGORIES)


def unseed(apps, schema_editor):
    apps.get_model("shop", "Category").objects.filter(name__in=CATEGORIES).delete()


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
