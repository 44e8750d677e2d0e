"""The rule editor (validation, paused warning, live preview) and Oscar's dashboard order page."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from oscar.test.factories import create_order

from wagtail_wa_consent.consent import service
from wagtail_wa_consent.consent.evidence import Evidence
from wagtail_wa_consent.messaging.models import MessageTemplate
from wagtail_wa_consent.orders.forms import NotificationRuleForm
from wagtail_wa_consent.orders.models import NotificationRule, OrderSubscription
from wagtail_wa_consent.simulator.seed import copy_to_registry

pytestmark = pytest.mark.django_db

CHECKOUT = Evidence(source="checkout", user_action="ticked", wording="Order updates", language="en")


@pytest.fixture
def registry(db) -> None:
    copy_to_registry()


@pytest.fixture
def admin_client(client, db):
    user = get_user_model().objects.create_superuser("boss", "boss@example.com", "pw")
    client.force_login(user)
    return client


def form_data(template: str, *parameters: str, **extra: str) -> dict[str, str]:
    data = {"event": "placed", "match": "", "template": template, "tracking_url": "", "enabled": "on"}
    data.update({f"parameter_{i}": p for i, p in enumerate(parameters, start=1)})
    data.update(extra)
    return data


def test_form_offers_only_approved_utility_templates(registry):
    values = [value for value, _label in NotificationRuleForm().fields["template"].choices]
    assert "order_confirmation|en" in values and "order_confirmation|de" in values
    assert "seasonal_promotion|en" not in values and "paused_template|en" not in values


def test_form_accepts_an_approved_utility_template(registry):
    form = NotificationRuleForm(
        data=form_data("order_confirmation|en", "customer_name", "order_number", "total")
    )
    assert form.is_valid(), form.errors
    rule = form.save()
    assert (rule.template_name, rule.language) == ("order_confirmation", "en")
    assert rule.parameters == ["customer_name", "order_number", "total"]


def test_form_refuses_marketing_templates(registry):
    form = NotificationRuleForm(data=form_data("seasonal_promotion|en", "order_number", "status", "total"))
    assert not form.is_valid()
    assert "UTILITY" in str(form.errors["template"]) and "MARKETING" in str(form.errors["template"])


@pytest.mark.parametrize("status", ["PENDING", "REJECTED", "PAUSED"])
def test_form_refuses_templates_that_are_not_approved(registry, status):
    MessageTemplate.objects.filter(name="order_shipped").update(status=status)
    form = NotificationRuleForm(
        data=form_data("order_shipped|en", "customer_name", "order_number", "tracking_url")
    )
    assert not form.is_valid()
    assert f"is {status}; only APPROVED" in str(form.errors["template"])


def test_form_checks_the_parameter_count_and_gaps(registry):
    form = NotificationRuleForm(data=form_data("order_confirmation|en", "order_number"))
    assert not form.is_valid() and "has 3 parameters; 1 are mapped" in str(form.errors)
    gap = NotificationRuleForm(data=form_data("order_confirmation|en", "order_number", "", "total"))
    assert not gap.is_valid() and "without gaps" in str(gap.errors)


def test_paused_template_of_a_saved_rule_shows_a_warning(registry):
    rule = NotificationRule.objects.create(
        event="status",
        template_name="order_status_update",
        language="en",
        parameters=["order_number", "status"],
    )
    MessageTemplate.objects.filter(name="order_status_update").update(status="PAUSED")
    form = NotificationRuleForm(instance=rule)
    assert "paused" in form.warning and "paused" in str(form.fields["template"].help_text)
    # Editing other fields of the rule stays possible; the warning stays.
    edit = NotificationRuleForm(
        instance=rule,
        data=form_data("order_status_update|en", "order_number", "status", event="status", enabled=""),
    )
    assert edit.is_valid(), edit.errors
    assert "paused" in edit.warning


def test_admin_editor_refuses_marketing_and_previews(admin_client, registry):
    add_url = reverse("wagtailsnippets_wa_orders_notificationrule:add")
    page = admin_client.get(add_url)
    assert page.status_code == 200 and b"order_confirmation" in page.content
    refused = admin_client.post(
        add_url, form_data("seasonal_promotion|en", "order_number", "status", "total")
    )
    assert refused.status_code == 200 and b"order notifications need a UTILITY template" in refused.content
    assert not NotificationRule.objects.exists()
    saved = admin_client.post(
        add_url, form_data("order_confirmation|en", "customer_name", "order_number", "total")
    )
    assert saved.status_code == 302
    rule = NotificationRule.objects.get()
    MessageTemplate.objects.filter(name="order_confirmation", language="en").update(status="PAUSED")
    listing = admin_client.get(reverse("wagtailsnippets_wa_orders_notificationrule:list"))
    assert listing.status_code == 200 and b"PAUSED" in listing.content
    MessageTemplate.objects.filter(name="order_confirmation", language="en").update(status="APPROVED")
    preview_url = reverse("wagtailsnippets_wa_orders_notificationrule:preview_on_edit", args=[rule.pk])
    data = form_data("order_confirmation|en", "customer_name", "order_number", "total")
    assert admin_client.post(preview_url, data).json()["is_valid"]
    body = admin_client.get(preview_url).content.decode()
    assert "Hello Lena, thank you for your order 100042. Total:" in body and "49.90" in body


def test_dashboard_order_page_lists_the_notifications(
    admin_client, registry, django_capture_on_commit_callbacks
):
    NotificationRule.objects.create(
        event="status",
        template_name="order_status_update",
        language="en",
        parameters=["order_number", "status"],
    )
    order = create_order()
    order.refresh_from_db()
    contact = service.get_or_create_contact("+4915123456789")
    service.grant_single_opt_in(contact, ["transactional"], CHECKOUT)
    OrderSubscription.objects.create(order=order, contact=contact)
    with django_capture_on_commit_callbacks(execute=True):
        order.set_status("Being processed")
    page = admin_client.get(reverse("dashboard:order-detail", kwargs={"number": order.number}))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'href="#whatsapp"' in html and 'id="wa-order-notifications"' in html
    assert f"order:{order.number}:status:being-processed" in html and "order_status_update" in html
    assert "Sent" in html.split('id="wa-order-notifications"')[1]
    assert "+4915123456789" not in html


def test_dashboard_order_page_without_notifications(admin_client, registry):
    order = create_order()
    order.refresh_from_db()
    page = admin_client.get(reverse("dashboard:order-detail", kwargs={"number": order.number}))
    assert page.status_code == 200 and b"No WhatsApp notifications for this order." in page.content
