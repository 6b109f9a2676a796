"""Disconnecting a charger on demand (issue 20): POST /api/v1/chargers/<id>/disconnect tells the
process holding the socket, through the channel layer, to close it; the charger is then offline
like after any close, and may connect again."""

import asyncio

import pytest
from rest_framework.test import APIClient

from accounts.models import Activity
from accounts.tests.factories import MembershipFactory, UserFactory
from ocpp_gateway.consumer import CLOSE_BY_OPERATOR
from ocpp_gateway.tests.conftest import db
from sites.models import Charger

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


def _operator_api(charger: Charger, role: str = "operator") -> APIClient:
    user = UserFactory()
    MembershipFactory(user=user, organization=charger.site.organization, role=role)
    client = APIClient()
    client.force_authenticate(user)
    return client


def _disconnect(charger: Charger, role: str = "operator") -> tuple[int, dict]:
    response = _operator_api(charger, role).post(f"/api/v1/chargers/{charger.charge_point_id}/disconnect")
    return response.status_code, response.json()


def _online(pk: int) -> bool:
    return Charger.objects.get(pk=pk).is_online


async def _until_offline(pk: int) -> None:
    async with asyncio.timeout(5):
        while await db(_online)(pk):  # noqa: ASYNC110 (the gateway's writer changes it)
            await asyncio.sleep(0.02)


def _verbs(pk: int) -> list[tuple[str, str]]:
    audit = Activity.objects.filter(object_type="sites.charger", object_id=str(pk), via="api")
    return list(audit.values_list("verb", "via"))


async def test_the_api_closes_the_chargers_live_socket(charger, open_client):
    client = await open_client(charger)
    assert await db(_online)(charger.pk)

    status, body = await db(_disconnect)(charger.charger)

    assert (status, body) == (200, {"charge_point_id": charger.charge_point_id, "disconnected": True})
    assert await client.receive_close() == CLOSE_BY_OPERATOR
    await client.disconnect()
    await _until_offline(charger.pk)
    assert await db(_verbs)(charger.pk) == [("disconnected", "api")]

    again = await open_client(charger)  # the charger comes back
    assert "currentTime" in await again.result("Heartbeat", {})
    assert await db(_online)(charger.pk)


async def test_a_viewer_cannot_disconnect_a_charger(charger, open_client):
    client = await open_client(charger)

    status, _ = await db(_disconnect)(charger.charger, "viewer")

    assert status == 403
    assert await client.nothing_more()
    assert "currentTime" in await client.result("Heartbeat", {})


async def test_deleting_a_connected_charger_closes_its_socket(charger, open_client):
    client = await open_client(charger)

    def delete() -> int:
        return _operator_api(charger.charger).delete(f"/api/v1/chargers/{charger.charge_point_id}").status_code

    assert await db(delete)() == 204
    assert await client.receive_close() == CLOSE_BY_OPERATOR
