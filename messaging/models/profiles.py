import secrets

from django.db import models


class SubscriptionState(models.TextChoices):
    OPTED_IN = "opted_in", "Opted in"
    SUBSCRIBED = "subscribed", "Subscribed"
    UNSUBSCRIBED = "unsubscribed", "Unsubscribed"


def new_braze_id() -> str:
    # Braze IDs are 24 lowercase hex characters (spec §3b.4).
    return secrets.token_hex(12)


def new_random_bucket() -> int:
    # Braze's random bucket numbers run 0–9999 and are drawn once per profile.
    return secrets.randbelow(10_000)


class Profile(models.Model):
    """A user of the customer's product (Braze's "user")."""

    braze_id = models.CharField(max_length=24, unique=True, default=new_braze_id, editable=False)
    external_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    email = models.CharField(max_length=254, blank=True, db_index=True)
    phone = models.CharField(max_length=32, blank=True, db_index=True)
    first_name = models.CharField(max_length=255, blank=True)
    last_name = models.CharField(max_length=255, blank=True)
    gender = models.CharField(max_length=1, blank=True)
    dob = models.DateField(null=True, blank=True)
    country = models.CharField(max_length=2, blank=True)
    home_city = models.CharField(max_length=255, blank=True)
    language = models.CharField(max_length=8, blank=True)
    time_zone = models.CharField(max_length=64, blank=True)
    email_subscribe = models.CharField(
        max_length=16, choices=SubscriptionState.choices, default=SubscriptionState.SUBSCRIBED
    )
    push_subscribe = models.CharField(
        max_length=16, choices=SubscriptionState.choices, default=SubscriptionState.SUBSCRIBED
    )
    email_open_tracking_disabled = models.BooleanField(default=False)
    email_click_tracking_disabled = models.BooleanField(default=False)
    custom_attributes = models.JSONField(default=dict, blank=True)
    # Other standard fields of /users/track that need no column of their own
    # (current_location, date_of_first_session, subscription_groups, facebook, …).
    standard_extras = models.JSONField(default=dict, blank=True)
    # Members of the global control group receive no dashboard campaigns; API campaigns
    # ignore this flag on purpose (every profile is eligible).
    in_global_control_group = models.BooleanField(default=False)
    random_bucket = models.PositiveIntegerField(default=new_random_bucket)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.external_id or self.email or self.phone or self.braze_id


class UserAlias(models.Model):
    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="aliases")
    alias_label = models.CharField(max_length=255)
    alias_name = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["alias_label", "alias_name"], name="unique_alias"),
            models.UniqueConstraint(
                fields=["profile", "alias_label"], name="one_alias_name_per_label"
            ),
        ]
        verbose_name_plural = "user aliases"

    def __str__(self) -> str:
        return f"{self.alias_label}:{self.alias_name}"


class PushToken(models.Model):
    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="push_tokens")
    app_id = models.CharField(max_length=64)
    token = models.TextField()
    device_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Set when a provider reports the token unregistered; never sent to again.
    invalidated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["app_id", "token"], name="unique_push_token")
        ]

    def __str__(self) -> str:
        return f"{self.app_id}:{self.token[:12]}…"


class EmailSubscriptionState(models.Model):
    """A state set by /email/status for an address no profile has yet (applied later)."""

    email = models.CharField(max_length=254, unique=True)
    state = models.CharField(max_length=16, choices=SubscriptionState.choices)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.email}: {self.state}"


class DeprecatedExternalId(models.Model):
    """An external_id a profile had before /users/external_ids/rename (Braze's "deprecated").

    It still names the profile wherever an external_id is looked up, until
    /users/external_ids/remove removes it; no profile can take it as its primary ID.
    """

    profile = models.ForeignKey(Profile, on_delete=models.CASCADE,
                                related_name="deprecated_external_ids")
    external_id = models.CharField(max_length=255, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.external_id} (deprecated)"


class EmailSuppression(models.Model):
    """An address Herald no longer emails: a hard bounce or a spam complaint (Braze's lists).

    Kept per address, not per profile, as Braze keeps them: every profile with the
    address is skipped, and /email/bounce/remove or /email/spam/remove lift it.
    """

    class Reason(models.TextChoices):
        HARD_BOUNCE = "hard_bounce", "Hard bounce"
        SPAM = "spam", "Spam complaint"

    email = models.CharField(max_length=254)
    reason = models.CharField(max_length=16, choices=Reason.choices)
    # Where it came from: "smtp: 550 5.1.1 …", "feedback: postmark", "api: /email/blocklist".
    source = models.CharField(max_length=300, blank=True)
    recorded_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["email", "reason"], name="one_suppression_per_reason")
        ]
        indexes = [models.Index(fields=["reason", "recorded_at"])]

    def __str__(self) -> str:
        return f"{self.email}: {self.reason}"
