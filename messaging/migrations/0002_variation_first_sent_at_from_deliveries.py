"""Fill MessageVariation.first_sent_at from the deliveries sent before the field existed.

campaigns added the field (campaigns 0002) and knows nothing of deliveries; messaging
does, so the back-fill lives here: a variation's first send is its oldest delivery row.
"""

from django.db import migrations
from django.db.models import Exists, OuterRef, Subquery


def fill(apps, schema_editor):
    MessageVariation = apps.get_model("campaigns", "MessageVariation")
    Delivery = apps.get_model("messaging", "Delivery")
    deliveries = Delivery.objects.filter(variation=OuterRef("pk"))
    MessageVariation.objects.filter(first_sent_at__isnull=True).filter(
        Exists(deliveries)
    ).update(first_sent_at=Subquery(deliveries.order_by("created_at").values("created_at")[:1]))


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0002_messagevariation_first_sent_at"),
        ("messaging", "0001_initial"),
    ]

    operations = [
        # Undone by dropping the field (campaigns 0002 backwards): nothing to do here.
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
