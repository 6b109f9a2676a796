import factory

from accounts.tests.factories import OrganizationFactory
from sites.models import Charger, Connector, Site


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Site {n}")
    timezone = "Europe/Berlin"


class ChargerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Charger

    site = factory.SubFactory(SiteFactory)
    charge_point_id = factory.Sequence(lambda n: f"CP-{n:05d}")
    vendor = "TestVendor"
    model = "TestModel"


class ConnectorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Connector

    charger = factory.SubFactory(ChargerFactory)
    connector_id = 1
