from django.db import models
from django.utils import timezone


class JobRun(models.Model):
    """The last successful run of each scheduled job, for the health probe."""

    name = models.CharField(max_length=50, unique=True)
    last_success_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.name}: {self.last_success_at:%Y-%m-%d %H:%M}"
