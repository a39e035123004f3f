import secrets

from django.db import models


def new_object_prefix() -> str:
    return secrets.token_hex(16)


class UserExport(models.Model):
    """A file of user objects made for /users/export/segment or /global_control_group.

    Braze writes these files to the caller's cloud storage; Herald writes them to its own
    storage (STORAGES["default"]) and hands out a signed URL that expires (README).
    """

    class Kind(models.TextChoices):
        SEGMENT = "segment", "Segment"
        GLOBAL_CONTROL_GROUP = "global_control_group", "Global control group"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    object_prefix = models.CharField(max_length=32, unique=True, default=new_object_prefix,
                                     editable=False)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    segment_id = models.CharField(max_length=36, blank=True)
    fields_to_export = models.JSONField(default=list, blank=True)
    output_format = models.CharField(max_length=8, default="zip")
    callback_endpoint = models.URLField(max_length=1000, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    file_name = models.CharField(max_length=300, blank=True)
    users = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} export {self.object_prefix}"
