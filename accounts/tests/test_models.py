import pytest
from django.db import IntegrityError

from accounts.models import Membership, User
from accounts.tests.factories import MembershipFactory, OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_user_logs_in_with_email_normalised_to_lower_case():
    user = User.objects.create_user("Driver@Example.COM", "s3cret-pass-word")
    assert user.email == "driver@example.com"
    assert User.objects.get_by_natural_key("DRIVER@example.com") == user
    assert user.check_password("s3cret-pass-word")


def test_email_is_unique_regardless_of_case():
    UserFactory(email="ops@example.com")
    with pytest.raises(IntegrityError):
        User.objects.bulk_create([User(email="OPS@example.com")])


def test_superuser_requires_staff_flags():
    admin = User.objects.create_superuser("root@example.com", "pw-long-enough-1")
    assert admin.is_staff
    assert admin.is_superuser
    with pytest.raises(ValueError, match="is_staff"):
        User.objects.create_superuser("x@example.com", "pw", is_staff=False)


def test_one_membership_per_user_and_organization():
    membership = MembershipFactory()
    with pytest.raises(IntegrityError):
        Membership.objects.create(user=membership.user, organization=membership.organization, role="viewer")


def test_membership_role_is_constrained_in_the_database():
    membership = MembershipFactory()
    with pytest.raises(IntegrityError):
        Membership.objects.filter(pk=membership.pk).update(role="superhero")


def test_user_can_belong_to_several_organizations_with_different_roles():
    user = UserFactory()
    MembershipFactory(user=user, organization=OrganizationFactory(), role=Membership.Role.ADMIN)
    MembershipFactory(user=user, organization=OrganizationFactory(), role=Membership.Role.VIEWER)
    assert sorted(user.memberships.values_list("role", flat=True)) == ["admin", "viewer"]
