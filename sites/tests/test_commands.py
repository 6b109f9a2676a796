import pytest
from django.contrib import admin
from django.contrib.messages.storage.fallback import FallbackStorage
from django.test import RequestFactory

from sites.admin import ChargerAdmin, ConfigurationInline
from sites.commands import request_command
from sites.models import Charger, Command, ConfigurationKey
from sites.tests.factories import ChargerFactory
from sites.tests.helpers import answer_command

pytestmark = pytest.mark.django_db


def _run(charger: Charger, action: str, payload: dict, result: dict) -> Command:
    return answer_command(request_command(charger=charger, action=action, payload=payload), result)


def test_get_configuration_result_becomes_the_snapshot():
    charger = ChargerFactory()
    _run(
        charger,
        "GetConfiguration",
        {},
        {
            "configurationKey": [
                {"key": "HeartbeatInterval", "readonly": False, "value": "300"},
                {"key": "NumberOfConnectors", "readonly": True, "value": "2"},
                {"key": "NoValueKey", "readonly": False},
            ],
            "unknownKey": ["Foo"],
        },
    )
    snapshot = {c.key: (c.value, c.readonly) for c in charger.configuration.all()}
    assert snapshot == {
        "HeartbeatInterval": ("300", False),
        "NumberOfConnectors": ("2", True),
        "NoValueKey": ("", False),
    }


@pytest.mark.parametrize(("answer", "stored"), [("Accepted", "60"), ("RebootRequired", "60"), ("Rejected", "300")])
def test_change_configuration_updates_the_snapshot_only_when_accepted(answer, stored):
    charger = ChargerFactory()
    ConfigurationKey.objects.create(charger=charger, key="HeartbeatInterval", value="300")
    _run(charger, "ChangeConfiguration", {"key": "HeartbeatInterval", "value": "60"}, {"status": answer})
    assert charger.configuration.get(key="HeartbeatInterval").value == stored


def test_editing_a_value_in_the_admin_sends_change_configuration(admin_user):
    charger = ChargerFactory()
    entry = ConfigurationKey.objects.create(charger=charger, key="HeartbeatInterval", value="300")
    ConfigurationKey.objects.create(charger=charger, key="NumberOfConnectors", value="2", readonly=True)
    request = RequestFactory().post("/")
    request.user = admin_user
    request.session = {}
    request._messages = FallbackStorage(request)
    inline = ConfigurationInline(Charger, admin.site)
    formset_class = inline.get_formset(request, charger)
    prefix = formset_class.get_default_prefix()
    rows = list(charger.configuration.order_by("key"))
    data = {f"{prefix}-TOTAL_FORMS": str(len(rows)), f"{prefix}-INITIAL_FORMS": str(len(rows))}
    for index, row in enumerate(rows):
        data[f"{prefix}-{index}-id"] = str(row.pk)
        data[f"{prefix}-{index}-charger"] = str(charger.pk)
        data[f"{prefix}-{index}-value"] = "60" if row.pk == entry.pk else row.value
    formset = formset_class(data=data, instance=charger, prefix=prefix)
    assert formset.is_valid(), formset.errors
    ChargerAdmin(Charger, admin.site).save_formset(request, None, formset, change=True)

    command = Command.objects.get()
    assert (command.action, command.payload) == ("ChangeConfiguration", {"key": "HeartbeatInterval", "value": "60"})
    entry.refresh_from_db()
    assert entry.value == "300"  # until the charger accepts
