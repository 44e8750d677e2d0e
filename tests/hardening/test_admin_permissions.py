"""Every admin view of the app, found by walking the URL resolver, against the permission it needs.

For each URL: anonymous users are sent to the login; a Wagtail editor holding every permission of
the app except the ones that open this view is refused (403, or Wagtail's redirect to the
dashboard) without a byte of personal data and without a write; a user holding only the
permission gets the page (200, or 405 for a POST-only view on GET). A URL missing from
``REQUIRED`` fails the test: a new admin view cannot ship without its permission test.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db.models import Q
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from oscar.test.factories import create_order
from wagtail.models import Site

from tests.campaigns.helpers import campaign
from tests.messaging.helpers import consenting
from wagtail_wa_consent.campaigns.models import Campaign
from wagtail_wa_consent.consent.models import ConsentEvent, ConsentWording, WordingSupersession
from wagtail_wa_consent.messaging.models import OutboundMessage
from wagtail_wa_consent.orders.models import NotificationRule
from wagtail_wa_consent.rights.models import DataSubjectRequest

pytestmark = pytest.mark.django_db

PHONE = "+4915123456789"
#: Namespaces whose every URL is an admin view of the app.
APP_NAMESPACES = ("wa_consent_admin", "wa_campaigns", "wagtailsnippets_wa_orders_notificationrule")
#: Views of other admin apps that show the app's data: Oscar's order page (its WhatsApp tab) and
#: Wagtail's site settings (the per-site WhatsApp settings).
OTHER_VIEWS = ("dashboard:order-detail", "wagtailsettings:edit")
#: Apps whose permissions the refused editor holds (minus the ones that open the view).
APP_LABELS = ("wa_consent", "wa_campaigns", "wa_orders")

STAFF = "is_staff"  # Oscar's dashboard: staff members, not a permission
#: Oscar's partner users: only the orders of their own partner (see test_partner_users_see_...).
PARTNER = "partner.dashboard_access"
LEDGER = "wa_consent.view_ledger"
REQUESTS = "wa_consent.handle_datasubjectrequest"
IMPORT = "wa_consent.import_contacts"
RECONFIRM = "wa_consent.request_reconfirmation"


def model_perms(app: str, model: str, *actions: str) -> list[tuple[str, ...]]:
    """Alternatives: any one of ``actions`` on the model opens the view."""
    return [(f"{app}.{action}_{model}",) for action in actions]


def any_of(*perms: str) -> list[tuple[str, ...]]:
    return [(perm,) for perm in perms]


def campaign_perms(*actions: str) -> list[tuple[str, ...]]:
    return model_perms("wa_campaigns", "campaign", *actions)


def rule_perms(*actions: str) -> list[tuple[str, ...]]:
    return model_perms("wa_orders", "notificationrule", *actions)


def copy_perms(app: str, model: str) -> list[tuple[str, ...]]:
    # Wagtail's copy view: add, and seeing the original (view or change).
    return [(f"{app}.add_{model}", f"{app}.view_{model}"), (f"{app}.add_{model}", f"{app}.change_{model}")]


#: URL name -> the permission sets that open it (a list of alternatives; each a tuple needed together).
REQUIRED: dict[str, list[tuple[str, ...]]] = {
    # The consent ledger and the contact timeline.
    "wa_consent_admin:ledger": any_of(LEDGER),
    "wa_consent_admin:ledger_results": any_of(LEDGER),
    "wa_consent_admin:contact_timeline": any_of(LEDGER),
    # The template registry: whoever may sync may also read.
    "wa_consent_admin:templates": any_of(
        "wa_consent.view_messagetemplate", "wa_consent.change_messagetemplate"
    ),
    "wa_consent_admin:templates_results": any_of(
        "wa_consent.view_messagetemplate", "wa_consent.change_messagetemplate"
    ),
    "wa_consent_admin:templates_sync": any_of("wa_consent.change_messagetemplate"),
    # The data-subject request queue.
    "wa_consent_admin:requests": any_of(REQUESTS),
    "wa_consent_admin:requests_results": any_of(REQUESTS),
    "wa_consent_admin:request_new": any_of(REQUESTS),
    "wa_consent_admin:request_detail": any_of(REQUESTS),
    "wa_consent_admin:request_export": any_of(REQUESTS),
    "wa_consent_admin:request_evidence_pack": any_of(REQUESTS),
    "wa_consent_admin:request_complete": any_of(REQUESTS),
    "wa_consent_admin:request_refuse": any_of(REQUESTS),
    "wa_consent_admin:request_extend": any_of(REQUESTS),
    # The import of existing opt-ins.
    "wa_consent_admin:import": any_of(IMPORT),
    # Superseded wordings and re-confirmation.
    "wa_consent_admin:wording_changes": any_of(RECONFIRM),
    "wa_consent_admin:wording_reconfirm": any_of(RECONFIRM),
    # Campaigns (Wagtail ModelViewSet plus the report and its actions).
    "wa_campaigns:index": campaign_perms("view", "add", "change", "delete"),
    "wa_campaigns:index_results": campaign_perms("view", "add", "change", "delete"),
    "wa_campaigns:add": campaign_perms("add"),
    "wa_campaigns:edit": campaign_perms("change"),
    "wa_campaigns:delete": campaign_perms("delete"),
    "wa_campaigns:history": campaign_perms("add", "change", "delete"),
    "wa_campaigns:history_results": campaign_perms("add", "change", "delete"),
    "wa_campaigns:usage": campaign_perms("change"),
    "wa_campaigns:copy": copy_perms("wa_campaigns", "campaign"),
    "wa_campaigns:report": campaign_perms("view", "change"),
    "wa_campaigns:action": campaign_perms("change"),
    # The order-notification rules (a snippet).
    "wagtailsnippets_wa_orders_notificationrule:list": rule_perms("view", "add", "change", "delete"),
    "wagtailsnippets_wa_orders_notificationrule:list_results": rule_perms("view", "add", "change", "delete"),
    "wagtailsnippets_wa_orders_notificationrule:add": rule_perms("add"),
    "wagtailsnippets_wa_orders_notificationrule:edit": rule_perms("change"),
    "wagtailsnippets_wa_orders_notificationrule:delete": rule_perms("delete"),
    "wagtailsnippets_wa_orders_notificationrule:usage": rule_perms("change"),
    "wagtailsnippets_wa_orders_notificationrule:history": rule_perms("add", "change", "delete"),
    "wagtailsnippets_wa_orders_notificationrule:history_results": rule_perms("add", "change", "delete"),
    "wagtailsnippets_wa_orders_notificationrule:copy": copy_perms("wa_orders", "notificationrule"),
    "wagtailsnippets_wa_orders_notificationrule:preview_on_add": rule_perms("add"),
    "wagtailsnippets_wa_orders_notificationrule:preview_on_edit": rule_perms("change"),
    # Oscar's order page with its WhatsApp tab; the per-site WhatsApp settings.
    "dashboard:order-detail": [(STAFF, "order.view_order"), (PARTNER,)],
    "wagtailsettings:edit": any_of("wa_consent.change_whatsappsettings"),
}


# --- finding the URLs ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AdminURL:
    name: str  # namespaced
    pattern: URLPattern
    prefix: str  # the route up to this pattern

    @property
    def converters(self) -> dict[str, Any]:
        return getattr(self.pattern.pattern, "converters", {})


def _walk(patterns: list, namespaces: tuple[str, ...] = (), prefix: str = "") -> Iterator[AdminURL]:
    for item in patterns:
        if isinstance(item, URLResolver):
            inner = (*namespaces, item.namespace) if item.namespace else namespaces
            yield from _walk(item.url_patterns, inner, prefix + str(item.pattern))
        elif item.name:
            yield AdminURL(":".join((*namespaces, item.name)), item, prefix + str(item.pattern))


def admin_urls() -> list[AdminURL]:
    """Every named URL in the app's admin namespaces, wherever they are mounted, plus OTHER_VIEWS."""
    found = []
    for url in _walk(get_resolver().url_patterns):
        namespace = url.name.rsplit(":", 1)[0]
        if namespace.split(":")[-1] in APP_NAMESPACES or url.name in OTHER_VIEWS:
            found.append(url)
    return found


def test_the_walk_finds_the_known_admin_views():
    names = {url.name for url in admin_urls()}
    assert {"wa_consent_admin:ledger", "wa_campaigns:index", "dashboard:order-detail"} <= names
    assert "wa_consent:webhook" not in names  # public URLs are not admin views


def test_every_admin_url_has_a_permission_entry():
    """A new admin view fails here until its permission is mapped (and so tested) in REQUIRED."""
    missing = sorted({url.name for url in admin_urls()} - REQUIRED.keys())
    assert not missing, f"admin URLs without a permission test: {missing}; add them to REQUIRED"
    stale = sorted(REQUIRED.keys() - {url.name for url in admin_urls()})
    assert not stale, f"REQUIRED names URLs that no longer exist: {stale}"


# --- the objects the URLs name ------------------------------------------------------------------


@dataclass
class World:
    contact: Any
    data_request: DataSubjectRequest
    supersession: WordingSupersession
    campaign: Any
    rule: NotificationRule
    order: Any
    site: Site


@pytest.fixture
def world(db) -> World:
    contact = consenting(PHONE, "marketing")
    wording = ConsentWording.objects.first()
    return World(
        contact=contact,
        data_request=DataSubjectRequest.objects.create(
            kind=DataSubjectRequest.Kind.ACCESS,
            channel=DataSubjectRequest.Channel.ADMIN,
            contact=contact,
            due_at=timezone.now() + timezone.timedelta(days=30),
        ),
        supersession=WordingSupersession.objects.create(wording=wording, superseded_at=timezone.now()),
        campaign=campaign(status="draft"),
        rule=NotificationRule.objects.create(
            event="status", template_name="order_status_update", language="en", parameters=["order_number"]
        ),
        order=create_order(),
        site=Site.objects.get(is_default_site=True),
    )


#: Which object a ``pk`` in a URL names, by URL name prefix (first match wins).
PK_SOURCES: list[tuple[str, str]] = [
    ("wa_consent_admin:contact", "contact"),
    ("wa_consent_admin:request", "data_request"),
    ("wa_consent_admin:wording", "supersession"),
    ("wa_campaigns:", "campaign"),
    ("wagtailsnippets_wa_orders_notificationrule:", "rule"),
]


def kwargs_for(url: AdminURL, world: World) -> dict[str, Any]:
    """Path converters filled with an existing object's key."""
    if url.name == "dashboard:order-detail":
        return {"number": world.order.number}
    if url.name == "wagtailsettings:edit":
        return {"app_name": "wa_consent", "model_name": "whatsappsettings", "pk": world.site.pk}
    kwargs: dict[str, Any] = {}
    for name in url.converters:
        if name == "pk":
            source = next((attr for prefix, attr in PK_SOURCES if url.name.startswith(prefix)), None)
            assert source, f"{url.name}: which object does its pk name? Add it to PK_SOURCES"
            kwargs[name] = getattr(world, source).pk
        elif name == "action":
            kwargs[name] = "start"
        else:
            raise AssertionError(f"{url.name}: fill its path converter {name!r} in kwargs_for()")
    return kwargs


# --- users --------------------------------------------------------------------------------------

_users = iter(range(1, 10**6))


def user_with(*perms: str, staff: bool = False) -> Any:
    """A Wagtail editor (access_admin) holding ``perms`` through a group, as merchants set it up."""
    n = next(_users)
    user = get_user_model().objects.create_user(f"editor{n}", f"editor{n}@example.com", "pw", is_staff=staff)
    group = Group.objects.create(name=f"editors{n}")
    query = Q(content_type__app_label="wagtailadmin", codename="access_admin")
    for perm in perms:
        app_label, codename = perm.split(".")
        query |= Q(content_type__app_label=app_label, codename=codename)
    group.permissions.set(Permission.objects.filter(query))
    user.groups.add(group)
    return user


def every_app_permission_but(excluded: set[str]) -> list[str]:
    perms = Permission.objects.filter(content_type__app_label__in=APP_LABELS).select_related("content_type")
    return [
        f"{p.content_type.app_label}.{p.codename}"
        for p in perms
        if f"{p.content_type.app_label}.{p.codename}" not in excluded
    ]


def granted(alternative: tuple[str, ...]) -> Any:
    perms = [perm for perm in alternative if perm != STAFF]
    return user_with(*perms, staff=STAFF in alternative)


def writes() -> tuple:
    """What a refused request must not change."""
    return (
        ConsentEvent.objects.count(),
        OutboundMessage.objects.count(),
        list(DataSubjectRequest.objects.values_list("pk", "state", "due_at")),
        list(WordingSupersession.objects.values_list("pk", "reconfirm_requested_at")),
        list(Campaign.objects.values_list("pk", "status", "name")),
        list(NotificationRule.objects.values_list("pk", "enabled")),
    )


def personal_data() -> list[str]:
    """The contact's number in the forms a page could show it."""
    return [PHONE, PHONE.lstrip("+"), "151 2345", "23456789"]


# --- the test -----------------------------------------------------------------------------------


def _login_url(url: AdminURL) -> str:
    return reverse("dashboard:login" if url.name.startswith("dashboard:") else "wagtailadmin_login")


@pytest.mark.parametrize("url_name", sorted(REQUIRED))
def test_admin_view_permissions(url_name, world):
    found = {url.name: url for url in admin_urls()}
    if url_name not in found:
        pytest.fail(f"{url_name} is in REQUIRED but not in the URL conf")
    url = found[url_name]
    path = reverse(url.name, kwargs=kwargs_for(url, world))
    alternatives = REQUIRED[url_name]

    # Anonymous: to the login page, nothing else.
    anonymous = Client().get(path)
    assert anonymous.status_code == 302 and anonymous.url.startswith(_login_url(url)), (path, anonymous)

    # An editor with every other permission of the app: refused, with no personal data, no write.
    opening = {perm for alternative in alternatives for perm in alternative}
    refused_user = user_with(*every_app_permission_but(opening))
    client = Client()
    client.force_login(refused_user)
    before = writes()
    refused = client.get(path)
    if refused.status_code == 405:  # POST-only: the permission check must come before the action
        refused = client.post(path, {})
    assert refused.status_code in (302, 403), (path, refused.status_code)
    if refused.status_code == 302:
        assert refused.url in (reverse("wagtailadmin_home"), "/") or refused.url.startswith(_login_url(url))
    ajax = client.get(path, headers={"x-requested-with": "XMLHttpRequest"})
    assert ajax.status_code in (302, 403, 405)
    for response in (refused, ajax):
        body = response.content.decode(errors="replace")
        assert not [value for value in personal_data() if value in body], path
    assert writes() == before, f"{path}: a refused request changed data"

    # Holding only (one set of) the permissions that open it: the page, or 405 for POST-only.
    for alternative in alternatives:
        client = Client()
        user = granted(alternative)
        if PARTNER in alternative:
            world.order.lines.first().partner.users.add(user)  # a partner user of this order's partner
        client.force_login(user)
        allowed = client.get(path)
        assert allowed.status_code in (200, 405), (path, alternative, allowed.status_code)
        if allowed.status_code == 405:
            assert "POST" in allowed.get("Allow", ""), path


def test_partner_users_see_only_their_own_orders_whatsapp_tab(world):
    """Object level: Oscar's partner users open the order page (and its WhatsApp tab) of their
    own partner's orders only; another partner's order is a 404, not a refusal that confirms it."""
    from oscar.apps.partner.models import Partner

    stranger = user_with(PARTNER)
    Partner.objects.create(name="Other partner").users.add(stranger)
    client = Client()
    client.force_login(stranger)
    response = client.get(reverse("dashboard:order-detail", kwargs={"number": world.order.number}))
    assert response.status_code == 404
    assert b"wa-order-notifications" not in response.content
