import datetime as dt

import pytest
from django.db import IntegrityError
from django.utils import timezone

from charging.models import ChargingSession, IdToken
from charging.tests.factories import ChargingSessionFactory, IdTokenFactory
from sites.tests.factories import ChargerFactory, ConnectorFactory

pytestmark = pytest.mark.django_db


def test_only_one_active_session_per_connector():
    session = ChargingSessionFactory()
    with pytest.raises(IntegrityError):
        ChargingSessionFactory(connector=session.connector)


def test_a_new_session_may_start_once_the_previous_one_completed():
    session = ChargingSessionFactory()
    ChargingSession.objects.filter(pk=session.pk).update(state="completed", stopped_at=timezone.now())
    ChargingSessionFactory(connector=session.connector)
    assert session.connector.sessions.count() == 2


def test_transaction_id_is_unique_per_charger_but_may_repeat_on_another_charger():
    session = ChargingSessionFactory(transaction_id=42)
    second_connector = ConnectorFactory(charger=session.charger, connector_id=2)
    with pytest.raises(IntegrityError):
        ChargingSessionFactory(connector=second_connector, transaction_id=42)


def test_same_transaction_id_on_two_chargers_is_allowed():
    ChargingSessionFactory(transaction_id=7)
    ChargingSessionFactory(transaction_id=7)
    assert ChargingSession.objects.filter(transaction_id=7).count() == 2


def test_ocpp201_transaction_uid_is_unique_per_charger():
    charger = ChargerFactory()
    first = ConnectorFactory(charger=charger, connector_id=1)
    second = ConnectorFactory(charger=charger, connector_id=2)
    ChargingSessionFactory(connector=first, transaction_id=None, transaction_uid="abc")
    with pytest.raises(IntegrityError):
        ChargingSessionFactory(connector=second, transaction_id=None, transaction_uid="abc")


def test_session_needs_some_transaction_id():
    with pytest.raises(IntegrityError):
        ChargingSessionFactory(transaction_id=None, transaction_uid=None)


def test_completed_session_needs_a_stop_time():
    with pytest.raises(IntegrityError):
        ChargingSessionFactory(state="completed", stopped_at=None)


def test_energy_is_never_negative():
    session = ChargingSessionFactory()
    with pytest.raises(IntegrityError):
        ChargingSession.objects.filter(pk=session.pk).update(energy_wh=-1)


def test_id_tag_is_unique_per_organization_case_insensitively():
    token = IdTokenFactory(id_tag="ABC123")
    IdTokenFactory(id_tag="abc123")  # another organization
    with pytest.raises(IntegrityError):
        IdTokenFactory(id_tag="abc123", organization=token.organization)


def test_token_past_its_expiry_is_effectively_expired():
    now = timezone.now()
    token = IdTokenFactory(expires_at=now - dt.timedelta(seconds=1))
    assert token.effective_status(now) == IdToken.Status.EXPIRED
    blocked = IdTokenFactory(status=IdToken.Status.BLOCKED, expires_at=now - dt.timedelta(days=1))
    assert blocked.effective_status(now) == IdToken.Status.BLOCKED
    assert IdTokenFactory(expires_at=now + dt.timedelta(days=1)).effective_status(now) == IdToken.Status.ACCEPTED
