from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from accounts.models import Organization
from billing.currencies import currency_choices
from charging.models import ChargingSession
from sites.models import Charger, Site

# Prices and fees: never negative (a negative price would pay the driver to charge).
NOT_NEGATIVE = [MinValueValidator(0, message="Prices and fees cannot be negative.")]
MONEY = {"max_digits": 10, "decimal_places": 4, "default": 0, "validators": NOT_NEGATIVE}
OPTIONAL_MONEY = {"max_digits": 10, "decimal_places": 4, "null": True, "blank": True, "validators": NOT_NEGATIVE}


class Tariff(models.Model):
    """Prices of charging (issue 6); see billing.calculator for how they combine."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="tariffs")
    name = models.CharField(max_length=100)
    currency = models.CharField(max_length=3, default="EUR", choices=currency_choices)
    vat_percent = models.DecimalField("VAT %", max_digits=5, decimal_places=2, default=0,
                                      validators=[MinValueValidator(0), MaxValueValidator(100)])  # fmt: skip
    flat_fee = models.DecimalField("session fee", **MONEY)
    price_per_kwh = models.DecimalField("price per kWh", **MONEY)
    price_per_minute = models.DecimalField("price per minute of charging", **MONEY)
    idle_fee_per_minute = models.DecimalField("idle fee per minute", **MONEY)
    idle_grace_minutes = models.PositiveIntegerField(default=0)
    min_price = models.DecimalField("minimum price", help_text="Net, per session.", **OPTIONAL_MONEY)
    max_price = models.DecimalField("maximum price", help_text="Net, per session.", **OPTIONAL_MONEY)

    class Meta:
        ordering = ["organization__name", "name"]
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="tariff_name_unique")]

    def __str__(self) -> str:
        return f"{self.name} ({self.currency})"

    def clean(self) -> None:
        if self.min_price is not None and self.max_price is not None and self.max_price < self.min_price:
            raise ValidationError({"max_price": "The maximum price cannot be below the minimum price."})


class TariffBand(models.Model):
    """A time-of-day band in the site's time zone with its own rates; end <= start wraps midnight."""

    tariff = models.ForeignKey(Tariff, on_delete=models.CASCADE, related_name="bands")
    start_time = models.TimeField()
    end_time = models.TimeField()
    price_per_kwh = models.DecimalField("price per kWh", help_text="Empty: the tariff's rate.", **OPTIONAL_MONEY)
    price_per_minute = models.DecimalField("price per minute", help_text="Empty: the tariff's rate.", **OPTIONAL_MONEY)

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

    def clean(self) -> None:
        """One target, said in the form rather than left to the database's constraint."""
        targets = [field for field in ("organization", "site", "charger") if getattr(self, f"{field}_id")]
        if len(targets) != 1:
            raise ValidationError("Choose exactly one target: an organization, a site or a charger.")
        if self.valid_to is not None and self.valid_from is not None and self.valid_to <= self.valid_from:
            raise ValidationError({"valid_to": "The end of the validity comes after its start."})


class SessionCost(models.Model):
    """The price of a completed session, with its breakdown (billing.calculator)."""

    session = models.OneToOneField(ChargingSession, on_delete=models.CASCADE, related_name="cost")
    tariff = models.ForeignKey(Tariff, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    currency = models.CharField(max_length=3)
    # Two places: the currencies a tariff may use have at most two (billing.currencies).
    net = models.DecimalField(max_digits=12, decimal_places=2)
    vat = models.DecimalField("VAT", max_digits=12, decimal_places=2)
    total = models.DecimalField(max_digits=12, decimal_places=2)
    breakdown = models.JSONField(default=dict)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-computed_at"]

    def __str__(self) -> str:
        return f"{self.total} {self.currency}"
