from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from simple_history.models import HistoricalRecords


class OrganizationKind(models.TextChoices):
    OPERATOR = "operator", "Operator"
    PARTNER = "partner", "Partner"


class Organization(models.Model):
    """The tenant. An operator runs chargers; a partner integrates through the API."""

    Kind = OrganizationKind

    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=80, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.OPERATOR)
    # The CPO name charger certificates carry in O (security whitepaper A00.FR.404, the
    # CpoName configuration key); empty: the organization's name.
    operator_name = models.CharField(
        max_length=64,
        blank=True,
        help_text="The name charger certificates must carry as O (organizationName). Empty: the organization's name.",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # Holds the organization's partner members; object permissions granted to it (django-
    # guardian) are what other organizations shared with this one.
    group = models.OneToOneField(
        "auth.Group", on_delete=models.SET_NULL, null=True, blank=True, editable=False, related_name="organization"
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra_fields) -> "User":
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra_fields) -> "User":
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email: str, password: str | None = None, **extra_fields) -> "User":
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        if not extra_fields["is_staff"] or not extra_fields["is_superuser"]:
            raise ValueError("A superuser needs is_staff=True and is_superuser=True.")
        return self._create_user(email, password, **extra_fields)

    def get_by_natural_key(self, username: str) -> "User":
        # Logins are case-insensitive on the email address.
        return self.get(email__iexact=username)


class User(AbstractBaseUser, PermissionsMixin):
    """A person; logs in with an email address."""

    email = models.EmailField("email address", unique=True)
    full_name = models.CharField(max_length=200, blank=True)
    is_staff = models.BooleanField(default=False, help_text="May log into the admin.")
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    organizations = models.ManyToManyField(Organization, through="Membership", related_name="users")

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    OPERATOR = "operator", "Operator"
    MAINTENANCE = "maintenance", "Maintenance"
    VIEWER = "viewer", "Viewer"
    PARTNER = "partner", "Partner"


class Membership(models.Model):
    """A user's role in one organization."""

    Role = Role

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    history = HistoricalRecords()

    class Meta:
        ordering = ["organization__name", "user__email"]
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="membership_user_org_unique"),
            models.CheckConstraint(
                condition=models.Q(role__in=Role.values),
                name="membership_role_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organization} ({self.get_role_display()})"


class Activity(models.Model):
    """The audit trail of people's actions: admin changes, API writes and commands, with the
    acting user, the organization, the object and the values before and after."""

    class Via(models.TextChoices):
        ADMIN = "admin", "Admin"
        API = "api", "API"
        SYSTEM = "system", "System"

    actor = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, null=True, blank=True, related_name="activities"
    )
    verb = models.CharField(max_length=32)
    via = models.CharField(max_length=16, choices=Via.choices)
    object_type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    changes = models.JSONField(default=dict, blank=True, help_text='{"field": [before, after]} or details.')
    timestamp = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-timestamp", "-id"]
        verbose_name_plural = "activities"
        indexes = [models.Index(fields=["organization", "-timestamp"], name="activity_org_ts_idx")]

    def __str__(self) -> str:
        return f"{self.actor} {self.verb} {self.object_type} {self.object_repr}"


class ApiScope(models.TextChoices):
    READ = "read", "Read everything the organization may see"
    COMMANDS = "commands", "Send commands to chargers"
    TOKENS = "tokens", "Manage ID tokens"
    TARIFFS = "tariffs", "Manage tariffs and their assignments"
    PROFILES = "profiles", "Manage charging profiles (sending them to chargers is a command)"


class ApiClient(models.Model):
    """A system of an organization that calls the API on its own (a CMS, a billing system): it
    signs in with a client id and a secret (OAuth 2 client credentials) and holds the permissions
    of its scopes within the operator role, in its organization only. It acts through a user of
    its own (`principal`: no password, no admin access), so the tenancy and permission rules of
    people apply to it unchanged, and the audit trail names it."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="api_clients")
    name = models.CharField(max_length=100)
    client_id = models.CharField(max_length=40, unique=True, editable=False)
    # Django's password hasher over the secret: the secret itself is shown once, never stored.
    secret_hash = models.CharField(max_length=128, editable=False)
    scopes = models.JSONField(default=list)
    principal = models.OneToOneField(User, on_delete=models.PROTECT, related_name="api_client", editable=False)
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    last_token_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["organization__name", "name"]
        verbose_name = "API client"

    def __str__(self) -> str:
        return f"{self.name} ({self.client_id})"

    @property
    def active(self) -> bool:
        return self.revoked_at is None
