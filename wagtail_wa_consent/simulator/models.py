"""What the simulated Meta knows: templates, the messages it carried, and each phone's state."""

from __future__ import annotations

from django.db import models


class SimTemplate(models.Model):
    name = models.CharField(max_length=512)
    language = models.CharField(max_length=15)
    category = models.CharField(max_length=20)
    status = models.CharField(max_length=32, default="APPROVED")
    components = models.JSONField(default=list)
    meta_id = models.CharField(max_length=64)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["name", "language"], name="wa_sim_template_unique")]

    def __str__(self) -> str:
        return f"{self.name} ({self.language})"

    def body_text(self) -> str:
        return next((c.get("text", "") for c in self.components if c.get("type") == "BODY"), "")

    def footer_text(self) -> str:
        return next((c.get("text", "") for c in self.components if c.get("type") == "FOOTER"), "")

    def quick_replies(self) -> list[str]:
        for component in self.components:
            if component.get("type") == "BUTTONS":
                return [
                    b.get("text", "") for b in component.get("buttons", []) if b.get("type") == "QUICK_REPLY"
                ]
        return []


class SimPhone(models.Model):
    digits = models.CharField(max_length=20, unique=True)
    marketing_stopped = models.BooleanField(default=False)
    unreachable = models.BooleanField(default=False)
    last_inbound_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.digits


class SimMessage(models.Model):
    OUT, IN = "out", "in"
    direction = models.CharField(max_length=3, choices=[(OUT, "out"), (IN, "in")])
    phone = models.ForeignKey(SimPhone, on_delete=models.CASCADE, related_name="messages")
    wamid = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=20)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=20, default="sent")
    callback_data = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.direction} {self.kind} {self.wamid}"


class SimWebhook(models.Model):
    """A webhook the simulated Meta owes the plugin. Kept until delivered, as Meta retries."""

    body = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"webhook {self.pk} ({'delivered' if self.delivered_at else 'pending'})"
