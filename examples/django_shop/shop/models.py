"""A small shop: categories (seeded by a data migration), products, orders."""

from django.db import models


class Category(models.Model):
    name = models.CharField(max_length=50, unique=True)


class Product(models.Model):
    name = models.CharField(max_length=100)
    category = models.ForeignKey(Category, on_delete=models.PROTECT)
    price_cents = models.PositiveIntegerField()
    stock = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(stock__gte=0), name="stock_not_negative")
        ]


class Order(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE)
    quantity = models.PositiveIntegerField()


def place_order(product: Product, quantity: int) -> Order:
    """Take `quantity` from the stock and record the order; the database refuses to sell
    what is not there (the check constraint), which rolls the order back."""
    from django.db import transaction
    from django.db.models import F

    with transaction.atomic():
        Product.objects.filter(pk=product.pk).update(stock=F("stock") - quantity)
        return Order.objects.create(product=product, quantity=quantity)
