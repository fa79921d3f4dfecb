"""Django's own TestCase classes, as a project that grew up on `manage.py test` has them:
pytest-django runs them on the same test database."""

from django.test import TestCase
from shop.models import Category, Product


class CategoryTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.games = Category.objects.get(name="games")

    def test_seeded_by_the_data_migration(self):
        self.assertEqual(Category.objects.count(), 3)

    def test_products_of_a_category(self):
        Product.objects.create(name="chess", category=self.games, price_cents=1500)
        self.assertEqual(self.games.product_set.count(), 1)
