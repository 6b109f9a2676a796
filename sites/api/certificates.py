"""A charger's certificate inventory, read-only (1.6 security whitepaper A02/A03, M03-M05; 2.0.1
the same): what we issued and installed and what it reported, public facts only. Changed through
the commands (install_certificate, delete_certificate, get_installed_certificate_ids)."""

from django.shortcuts import get_object_or_404
from rest_framework import generics, serializers

from accounts.tenancy import scope_queryset
from sites.models import Charger, ChargerCertificate


class ChargerCertificateSerializer(serializers.ModelSerializer):
    class Meta:
        model = ChargerCertificate
        fields = [
            "id", "use", "source", "subject", "issuer", "serial_number", "not_before", "not_after",
            "fingerprint_sha256", "hash_algorithm", "issuer_name_hash", "issuer_key_hash", "certificate_pem",
            "renewal_requested_at", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields


class ChargerCertificatesView(generics.ListAPIView):
    """The certificates of one charger (by charge point id) the caller's organization owns."""

    serializer_class = ChargerCertificateSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user, no database
            return ChargerCertificate.objects.none()
        owned = scope_queryset(Charger.objects.all(), self.request.user, "site__organization")
        charger = get_object_or_404(owned, charge_point_id=self.kwargs["charge_point_id"])
        return ChargerCertificate.objects.filter(charger=charger).order_by("use", "-created_at", "-id")
