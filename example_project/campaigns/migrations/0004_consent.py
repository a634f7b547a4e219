# Written by hand after makemigrations: a unique key for each existing recipient needs
# a value of its own per row, which a field default cannot give.
# ruff: noqa: RUF012

from __future__ import annotations

from typing import Any

from django.db import migrations, models

import campaigns.models


def give_keys(apps: Any, schema_editor: Any) -> None:
    Recipient = apps.get_model("campaigns", "Recipient")
    for recipient in Recipient.objects.filter(key__isnull=True).only("pk"):
        recipient.key = campaigns.models.new_recipient_key()
        recipient.save(update_fields=["key"])


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0003_classification"),
    ]

    operations = [
        migrations.AddField(
            model_name="recipient",
            name="key",
            field=models.CharField(editable=False, max_length=32, null=True),
        ),
        migrations.RunPython(give_keys, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="recipient",
            name="key",
            field=models.CharField(
                default=campaigns.models.new_recipient_key,
                editable=False,
                help_text="Names the recipient in ptrack's links (PTRACK_CONSENT asks by it).",
                max_length=32,
                unique=True,
            ),
        ),
        migrations.AddField(
            model_name="recipient",
            name="consent",
            field=models.CharField(
                choices=[
                    ("full", "Full: opens and clicks, by person"),
                    ("deliverability", "Deliverability: only that mail reached them, by day"),
                    ("aggregate", "Aggregate: counted, never by person"),
                    ("none", "None: no tracking"),
                ],
                default="full",
                help_text="How much the recipient lets us record; asked at every load.",
                max_length=14,
            ),
        ),
        migrations.AddField(
            model_name="recipient",
            name="last_reached_on",
            field=models.DateField(
                blank=True,
                help_text="The last day one of our emails was loaded, as the deliverability "
                "level records it: no campaign, no time of day.",
                null=True,
            ),
        ),
        migrations.AlterField(
            model_name="open",
            name="recipient",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=models.deletion.CASCADE,
                related_name="opens",
                to="campaigns.recipient",
            ),
        ),
        migrations.AlterField(
            model_name="click",
            name="recipient",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=models.deletion.CASCADE,
                related_name="clicks",
                to="campaigns.recipient",
            ),
        ),
    ]
