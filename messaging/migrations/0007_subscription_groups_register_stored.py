"""Register every subscription group ID already stored on profiles (and named by SMS sends).

Before the registry, any `subscription_group_id` was accepted and kept on the profile
(`standard_extras["subscription_groups"]`: a dict, or the SMS webhook's list). Each such ID
becomes a group so that nothing stored stops working when unknown IDs start being refused.
A group named by an SMS message of a dispatch is an SMS group; any other is taken for an
email group (rename or change it in the admin). Names say they were imported.
"""

from django.db import migrations


def _ids_on(extras):
    stored = (extras or {}).get("subscription_groups")
    if isinstance(stored, dict):
        return {str(k) for k in stored}
    if isinstance(stored, list):
        return {str(e["subscription_group_id"]) for e in stored
                if isinstance(e, dict) and e.get("subscription_group_id")}
    return set()


def register(apps, schema_editor):
    Profile = apps.get_model("messaging", "Profile")
    Dispatch = apps.get_model("messaging", "Dispatch")
    SubscriptionGroup = apps.get_model("messaging", "SubscriptionGroup")
    sms = set()
    for messages in Dispatch.objects.values_list("messages", flat=True).iterator():
        group = ((messages or {}).get("sms") or {}).get("subscription_group_id")
        if group:
            sms.add(str(group))
    found = set(sms)
    profiles = Profile.objects.exclude(standard_extras={}).values_list("standard_extras", flat=True)
    for extras in profiles.iterator(chunk_size=2000):
        found |= _ids_on(extras)
    known = set(SubscriptionGroup.objects.values_list("group_id", flat=True))
    SubscriptionGroup.objects.bulk_create([
        SubscriptionGroup(group_id=group_id[:255], name=f"Imported {group_id[:40]}",
                          channel="sms" if group_id in sms else "email")
        for group_id in sorted(found - known)
    ])


class Migration(migrations.Migration):
    dependencies = [("messaging", "0006_subscription_groups")]

    operations = [migrations.RunPython(register, migrations.RunPython.noop)]
