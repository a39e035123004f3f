"""Fill the campaign-wide recipient ledger and rollups from the per-variation ledger.

Rows recorded before 0004 have per-variation "recipients" marks only. Their scopes
("" lifetime, "<day>|<send_id>" one bucket) give every (campaign, profile, day, send)
a profile was a recipient on, which is all the campaign-wide rows need.
"""

from collections import defaultdict

from django.db import migrations


def backfill(apps, schema_editor):
    MessageVariation = apps.get_model("campaigns", "MessageVariation")
    UniqueMark = apps.get_model("analytics", "UniqueMark")
    CampaignMark = apps.get_model("analytics", "CampaignMark")
    CampaignDayRollup = apps.get_model("analytics", "CampaignDayRollup")
    db = schema_editor.connection.alias
    campaigns = defaultdict(list)
    for pk, campaign_id in MessageVariation.objects.using(db).values_list("pk", "campaign_id"):
        campaigns[campaign_id].append(pk)
    for campaign_id, variation_ids in campaigns.items():
        if CampaignMark.objects.using(db).filter(campaign_id=campaign_id).exists():
            continue  # already recorded by the new code
        # profile -> set of (day, send_id) buckets it received in
        buckets = defaultdict(set)
        for profile_id, scope in (UniqueMark.objects.using(db)
                                  .filter(variation_id__in=variation_ids, metric="recipients")
                                  .exclude(scope="").values_list("profile_id", "scope")
                                  .iterator(chunk_size=5000)):
            day, _, send_id = scope.partition("|")
            buckets[profile_id].add((day, send_id))
        marks, counts = [], defaultdict(lambda: [0, 0])
        for profile_id, seen in buckets.items():
            days = sorted({day for day, _ in seen})
            marks.append(CampaignMark(campaign_id=campaign_id, profile_id=profile_id, scope=""))
            counts[("", days[0])][1] += 1
            for day in days:
                marks.append(CampaignMark(campaign_id=campaign_id, profile_id=profile_id,
                                          scope=day))
                counts[("", day)][0] += 1
            by_send = defaultdict(set)
            for day, send_id in seen:
                if send_id:
                    by_send[send_id].add(day)
            for send_id, send_days in by_send.items():
                marks.append(CampaignMark(campaign_id=campaign_id, profile_id=profile_id,
                                          scope=f"|{send_id}"))
                counts[(send_id, min(send_days))][1] += 1
                for day in send_days:
                    marks.append(CampaignMark(campaign_id=campaign_id, profile_id=profile_id,
                                              scope=f"{day}|{send_id}"))
                    counts[(send_id, day)][0] += 1
        CampaignMark.objects.using(db).bulk_create(marks, batch_size=5000)
        CampaignDayRollup.objects.using(db).bulk_create(
            [CampaignDayRollup(campaign_id=campaign_id, send_id=send_id, day=day,
                               unique_recipients=unique, first_recipients=first)
             for (send_id, day), (unique, first) in counts.items()], batch_size=5000)


class Migration(migrations.Migration):
    dependencies = [("analytics", "0004_campaign_recipients")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
