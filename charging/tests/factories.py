import datetime as dt

import factory
from django.utils import timezone

from accounts.tests.factories import OrganizationFactory
from charging.models import ChargingSession, IdToken, MeterValue
from sites.tests.factories import ConnectorFactory


class IdTokenFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IdToken

    organization = factory.SubFactory(OrganizationFactory)
    id_tag = factory.Sequence(lambda n: f"TAG{n:06d}")


class ChargingSessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChargingSession

    connector = factory.SubFactory(ConnectorFactory)
    charger = factory.SelfAttribute("connector.charger")
    id_tag = "TAG000001"
    transaction_id = factory.Sequence(lambda n: n + 1)
    started_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(hours=1))
    meter_start_wh = 1000


class MeterValueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MeterValue

    session = factory.SubFactory(ChargingSessionFactory)
    charger = factory.SelfAttribute("session.charger")
    connector = factory.SelfAttribute("session.connector")
    timestamp = factory.LazyFunction(timezone.now)
    raw_value = "1500"
    value = 1500
