"""The admin's form to request an export: an organization of the user's own, a format, and
filters whose choices are the user's tenants' sites, chargers and id tokens."""

import datetime as dt

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from unfold.widgets import UnfoldAdminSelectWidget, UnfoldAdminSingleDateWidget

from reports.models import ReportExport
from reports.selectors import SessionFilters, chargers_of, id_tokens_of, organizations_exportable_by, sites_of
from reports.services import validate_session_filters


def pdf_limit_text() -> str:
    """What the format choice means, with the PDF limit in force now."""
    return f"A PDF holds at most {settings.REPORTS_PDF_MAX_ROWS:,} rows; choose CSV or JSON for more."


def _choice(queryset=None) -> forms.ModelChoiceField:
    # Choices are set per user in __init__; none until then.
    return forms.ModelChoiceField(queryset=queryset, required=False, widget=UnfoldAdminSelectWidget)


class SessionExportForm(forms.ModelForm):
    user = None  # set by the admin, per request (ReportExportAdmin.get_form)

    site = _choice()
    charger = _choice()
    id_token = _choice()
    date_from = forms.DateField(label="From", required=False, widget=UnfoldAdminSingleDateWidget,
                                help_text="First day (UTC).")  # fmt: skip
    date_to = forms.DateField(label="To", required=False, widget=UnfoldAdminSingleDateWidget,
                              help_text="Last day, included (UTC).")  # fmt: skip

    class Meta:
        model = ReportExport
        fields = ["organization", "format"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        organizations = organizations_exportable_by(self.user)
        self.fields["organization"].queryset = organizations
        self.fields["site"].queryset = sites_of(organizations)
        self.fields["charger"].queryset = chargers_of(organizations)
        self.fields["id_token"].queryset = id_tokens_of(organizations)
        self.fields["format"].help_text = pdf_limit_text()

    def filters(self) -> SessionFilters:
        data = self.cleaned_data

        def day_start(day: dt.date | None) -> dt.datetime | None:
            return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC) if day else None

        return SessionFilters(
            site=data["site"].pk if data.get("site") else None,
            charger=data["charger"].pk if data.get("charger") else None,
            id_token=data["id_token"].pk if data.get("id_token") else None,
            date_from=day_start(data.get("date_from")),
            # The last day is included: the range ends at the start of the next day.
            date_to=day_start(data["date_to"] + dt.timedelta(days=1)) if data.get("date_to") else None,
        )

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("organization") is not None and not self.errors:
            try:
                validate_session_filters(cleaned["organization"], self.filters())
            except ValidationError as error:
                self.add_error(None, error)
        return cleaned
