from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from accounts.models import Organization
from charging.models import ChargingSession
from sites.models import Charger, Site

MONEY = {"max_digits": 10, "decimal_places": 4, "default": 0}


class Tariff(models.Model):
    """Prices of charging (issue 6); see billing.calculator for how they combine."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="tariffs")
    name = models.CharField(max_length=100)
    currency = models.CharField(max_length=3, default="EUR", help_text="ISO 4217 code.")
    vat_percent = models.DecimalField(max_digits=5, decimal_places=2, default=0,
                                      validators=[MinValueValidator(0), MaxValueValidator(100)])  # fmt: skip
    flat_fee = models.DecimalField("session fee", **MONEY)
    price_per_kwh = models.DecimalField("price per kWh", **MONEY)
    price_per_minute = models.DecimalField("price per minute of charging", **MONEY)
    idle_fee_per_minute = models.DecimalField("idle fee per minute", **MONEY)
    idle_grace_minutes = models.PositiveIntegerField(default=0)
    min_price = models.DecimalField(max_digits=10, decimal_places=4, null=True, blank=True)
    max_price = models.DecimalField(max_digits=10, decimal_places=4, null=True, blank=True)

    class Meta:
        ordering = ["organization__name", "name"]
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="tariff_name_unique")]

    def __str__(self) -> str:
        return f"{self.name} ({self.currency})"


class TariffBand(models.Model):
    """A time-of-day band in the site's time zone with its own rates; end <= start wraps midnight."""

    tariff = models.ForeignKey(Tariff, on_delete=models.CASCADE, related_name="bands")
    start_time = models.TimeField()
    end_time = models.TimeField()
    price_per_kwh = models.DecimalField(max_digits=10, decimal_places=4, null=True, blank=True,
                                        help_text="Empty: the tariff's rate.")  # fmt: skip
    price_per_minute = models.DecimalField(max_digits=10, decimal_places=4, null=True, blank=True,
                                           help_text="Empty: the tariff's rate.")  # fmt: skip

    class Meta:
        ordering = ["start_time"]

    def __str__(self) -> str:
        return f"{self.start_time:%H:%M}-{self.end_time:%H:%M}"


class TariffAssignment(models.Model):
    """Which tariff applies where and when: to an organization, a site or a charger (exactly
    one); the most specific valid assignment wins."""

    tariff = models.ForeignKey(Tariff, on_delete=models.CASCADE, related_name="assignments")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    site = models.ForeignKey(Site, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    charger = models.ForeignKey(Charger, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    valid_from = models.DateTimeField(default=timezone.now)
    valid_to = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-valid_from"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(organization__isnull=False, site__isnull=True, charger__isnull=True)
                    | models.Q(organization__isnull=True, site__isnull=False, charger__isnull=True)
                    | models.Q(organization__isnull=True, site__isnull=True, charger__isnull=False)
                ),
                name="tariff_assignment_one_target",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tariff} for {self.charger or self.site or self.organization}"


class SessionCost(models.Model):
    """The price of a completed session, with its breakdown (billing.calculator)."""

    session = models.OneToOneField(ChargingSession, on_delete=models.CASCADE, related_name="cost")
    tariff = models.ForeignKey(Tariff, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    currency = models.CharField(max_length=3)
    net = models.DecimalField(max_digits=12, decimal_places=2)
    vat = models.DecimalField(max_digits=12, decimal_places=2)
    total = models.DecimalField(max_digits=12, decimal_places=2)
    breakdown = models.JSONField(default=dict)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-computed_at"]

    def __str__(self) -> str:
        return f"{self.total} {self.currency}"
