from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("ptrack_store", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="message",
            name="implied_open",
            field=models.BooleanField(default=False),
        ),
    ]
