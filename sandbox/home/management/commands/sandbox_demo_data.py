"""Load the sandbox's demo data. Idempotent: running it again changes nothing that exists.

python sandbox/manage.py sandbox_demo_data
"""

from __future__ import annotations

import importlib.util
import os
from decimal import Decimal
from io import StringIO
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sites.models import Site as DjangoSite
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction
from oscar.core.loading import get_model
from wagtail.models import Page
from wagtail.models import Site as WagtailSite
from wagtail.rich_text import RichText

from home.models import HomePage, PrivacyPolicyPage, StandardPage
from wagtail_wa_consent.orders.defaults import install_default_rules
from wagtail_wa_consent.pages.models import PreferenceCentrePage
from wagtail_wa_consent.simulator.seed import copy_to_registry
from wagtail_wa_consent.storefront.models import WhatsAppSettings

Country = get_model("address", "Country")
Category = get_model("catalogue", "Category")
Product = get_model("catalogue", "Product")
ProductCategory = get_model("catalogue", "ProductCategory")
ProductClass = get_model("catalogue", "ProductClass")
Partner = get_model("partner", "Partner")
StockRecord = get_model("partner", "StockRecord")
CommunicationEventType = get_model("communication", "CommunicationEventType")

HOSTNAME = "127.0.0.1"
PORT = 8000

# Countries the shop ships to; the checkout's country field lists only these.
SHIPPING_COUNTRIES = {"DE", "GB", "FR", "SA", "RU", "UZ", "US"}

# Used when pycountry is missing: (alpha-2, alpha-3, numeric, printable name).
FALLBACK_COUNTRIES = [
    ("DE", "DEU", "276", "Germany"),
    ("GB", "GBR", "826", "United Kingdom"),
    ("FR", "FRA", "250", "France"),
    ("SA", "SAU", "682", "Saudi Arabia"),
    ("RU", "RUS", "643", "Russian Federation"),
    ("UZ", "UZB", "860", "Uzbekistan"),
    ("US", "USA", "840", "United States"),
]

# (UPC, title, price in EUR, description)
PRODUCTS = [
    ("SBX-MUG-001", "Sandbox coffee mug", "12.50", "A 330 ml stoneware mug."),
    ("SBX-TEE-001", "Sandbox T-shirt", "24.00", "Organic cotton, unisex fit."),
    ("SBX-CAP-001", "Sandbox cap", "18.90", "One size, adjustable strap."),
    ("SBX-BAG-001", "Sandbox tote bag", "9.95", "Heavy canvas, long handles."),
    ("SBX-STK-001", "Sandbox sticker pack", "3.50", "Five vinyl stickers."),
]

HOME_BODY = [
    ("heading", "Welcome to the sandbox shop"),
    (
        "paragraph",
        RichText(
            "<p>This page is a Wagtail page rendered inside Oscar's layout. "
            "Add products to your basket and check out as a guest: no payment is taken.</p>"
        ),
    ),
    ("heading", "WhatsApp updates"),
    (
        "paragraph",
        RichText(
            '<p>Opt in to WhatsApp updates on the <a href="/whatsapp-updates/">WhatsApp page</a> or with the '
            "chat bubble. Without WhatsApp credentials the sandbox sends to its built-in simulator: "
            'the <a href="/wa-simulator/phone/">simulated phones</a> show every message.</p>'
        ),
    ),
]

WHATSAPP_BODY = [
    (
        "paragraph",
        RichText(
            "<p>Order updates and the odd offer, straight to your phone. You confirm in WhatsApp, "
            "and you can stop at any time by replying STOP.</p>"
        ),
    ),
    (
        "whatsapp_opt_in",
        {
            "heading": "",  # the plugin's default, translated into the page's language
            "intro": "",  # the plugin's default text: business, WhatsApp, privacy policy
            "categories": ["marketing", "transactional"],
            "button_label": "",
        },
    ),
]

PRIVACY_BODY = [
    ("heading", "Privacy policy"),
    (
        "paragraph",
        RichText(
            "<p>Sandbox Shop GmbH, Musterstraße 1, 10115 Berlin, is responsible for your data. "
            "This page explains what we collect and why.</p>"
        ),
    ),
]

#: The sandbox's WhatsApp business number (a Berlin number; the simulator answers for any).
BUSINESS_NUMBER = "+4930901820"

ABOUT_BODY = [
    ("heading", "About us"),
    (
        "paragraph",
        RichText(
            "<p>Sandbox Shop GmbH is a fictional shop used to demonstrate <b>wagtail-wa-consent</b>.</p>"
        ),
    ),
]


class Command(BaseCommand):
    help = "Create the sandbox's demo catalogue, pages, sites and admin user (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        self.verbosity: int = options["verbosity"]
        with transaction.atomic():
            self.countries()
            partner = self.catalogue()
            home = self.wagtail_pages()
            self.sites(home)
            self.whatsapp(home)
            self.order_notifications()
            self.communication_types()
            self.superuser()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready: {Product.objects.count()} products from "
                f"{partner.name}, home page {home.title!r}."
            )
        )

    def countries(self) -> None:
        if not Country.objects.exists():
            if importlib.util.find_spec("pycountry") is not None:
                # It refuses to run once countries exist, hence the guard above.
                # It prints regardless of verbosity; our own summary line follows.
                call_command("oscar_populate_countries", "--no-shipping", stdout=StringIO())
            else:
                Country.objects.bulk_create(
                    Country(
                        iso_3166_1_a2=a2,
                        iso_3166_1_a3=a3,
                        iso_3166_1_numeric=num,
                        printable_name=name,
                        name=name,
                        is_shipping_country=False,
                    )
                    for a2, a3, num, name in FALLBACK_COUNTRIES
                )
        marked = Country.objects.filter(
            iso_3166_1_a2__in=SHIPPING_COUNTRIES, is_shipping_country=False
        ).update(is_shipping_country=True)
        self.log(f"countries: {Country.objects.count()} ({marked} newly marked for shipping)")

    def catalogue(self) -> Any:
        product_class, _ = ProductClass.objects.get_or_create(
            name="Merchandise", defaults={"requires_shipping": True, "track_stock": True}
        )
        category = Category.objects.filter(depth=1, name="Merchandise").first()
        if category is None:
            category = Category.add_root(name="Merchandise", slug="merchandise")
        partner, _ = Partner.objects.get_or_create(name="Sandbox Shop GmbH")
        created = 0
        for upc, title, price, description in PRODUCTS:
            product, was_created = Product.objects.get_or_create(
                upc=upc,
                defaults={
                    "title": title,
                    "description": description,
                    "product_class": product_class,
                    "structure": Product.STANDALONE,
                    "is_public": True,
                },
            )
            created += was_created
            ProductCategory.objects.get_or_create(product=product, category=category)
            StockRecord.objects.get_or_create(
                product=product,
                partner=partner,
                defaults={
                    "partner_sku": upc,
                    "price_currency": settings.OSCAR_DEFAULT_CURRENCY,
                    "price": Decimal(price),
                    "num_in_stock": 10_000,  # plenty for repeated demo checkouts
                },
            )
        self.log(f"products: {created} created, {len(PRODUCTS) - created} already there")
        return partner

    def wagtail_pages(self) -> HomePage:
        root = Page.get_first_root_node()
        home = HomePage.objects.first()
        if home is None:
            # Wagtail's migrations create a "Welcome to your new Wagtail site!" page with slug
            # "home". Create ours beside it, move the Site over, then delete the old one
            # (deleting it first would cascade-delete the Site).
            home = root.add_child(instance=HomePage(title="Welcome", slug="sandbox-home", body=HOME_BODY))
            WagtailSite.objects.filter(root_page__depth=2).exclude(root_page=home).update(root_page=home)
            for page in root.get_children().exclude(pk=home.pk):
                if page.specific_class is Page:  # only the plain welcome page
                    page.delete()
            home.refresh_from_db()
            home.slug = "home"
            home.save()
            home.save_revision().publish()
            self.log("wagtail: home page created")
        if not StandardPage.objects.child_of(home).filter(slug="about").exists():
            about = home.add_child(
                instance=StandardPage(title="About", slug="about", body=ABOUT_BODY, show_in_menus=True)
            )
            about.save_revision().publish()
            self.log("wagtail: about page created")
        return home

    def whatsapp(self, home: HomePage) -> None:
        """The opt-in page, the privacy policy, the preference centre and the WhatsApp settings."""
        pages = {
            "whatsapp-updates": lambda: StandardPage(
                title="WhatsApp updates", slug="whatsapp-updates", body=WHATSAPP_BODY, show_in_menus=True
            ),
            "privacy": lambda: PrivacyPolicyPage(title="Privacy policy", slug="privacy", body=PRIVACY_BODY),
            "preferences": lambda: PreferenceCentrePage(
                title="WhatsApp preferences",
                slug="preferences",
                intro="<p>See and change what we may send you.</p>",
            ),
        }
        for slug, build in pages.items():
            if not Page.objects.child_of(home).filter(slug=slug).exists():
                page = home.add_child(instance=build())
                page.save_revision().publish()
                self.log(f"wagtail: {slug} page created")
        # Without WhatsApp credentials the sandbox sends to its simulator: its approved templates
        # go into the registry the dispatcher checks (with credentials: wa_sync_templates).
        if settings.WAGTAIL_WA_CONSENT.get("BACKEND", "").endswith("SimulatorBackend"):
            self.log(f"whatsapp: {copy_to_registry()} simulator templates in the registry")
        site = WagtailSite.objects.get(is_default_site=True)
        settings_row = WhatsAppSettings.for_site(site)
        if not settings_row.business_number:
            settings_row.business_name = "Sandbox Shop GmbH"
            settings_row.business_number = BUSINESS_NUMBER
            settings_row.bubble_enabled = True
            settings_row.privacy_page = Page.objects.child_of(home).get(slug="privacy")
            settings_row.preference_centre_page = Page.objects.child_of(home).get(slug="preferences")
            settings_row.save()
            self.log("whatsapp: site settings with the chat bubble switched on")

    def order_notifications(self) -> None:
        """Default rules: order confirmation, status updates and shipping with tracking."""
        self.log(f"whatsapp: {install_default_rules()} order notification rules created")

    def sites(self, home: HomePage) -> None:
        site = WagtailSite.objects.filter(is_default_site=True).first()
        if site is None:
            site = WagtailSite(is_default_site=True)
        site.hostname, site.port, site.root_page = HOSTNAME, PORT, home
        site.site_name = "Sandbox Shop"
        site.save()
        # django.contrib.sites is separate from Wagtail's Site (P11); Oscar uses it in emails.
        DjangoSite.objects.update_or_create(
            id=settings.SITE_ID, defaults={"domain": f"{HOSTNAME}:{PORT}", "name": "Sandbox Shop"}
        )
        self.log(f"sites: wagtail default site and django site -> {HOSTNAME}:{PORT}")

    def communication_types(self) -> None:
        # With this row Oscar records a CommunicationEvent per order confirmation email, so
        # it shows in the order's dashboard history (the email itself uses file templates).
        CommunicationEventType.objects.get_or_create(
            code="ORDER_PLACED",
            defaults={
                "name": "Order placed",
                "category": CommunicationEventType.ORDER_RELATED,
            },
        )

    def superuser(self) -> None:
        User = get_user_model()
        env_password = os.environ.get("SANDBOX_ADMIN_PASSWORD")
        password = env_password or "admin"
        user = User.objects.filter(username="admin").first()
        if user is None:
            User.objects.create_superuser("admin", "admin@example.com", password)
            self.log("superuser 'admin' created")
        elif env_password:
            user.set_password(env_password)  # let the env var reset a forgotten password
            user.save(update_fields=["password"])
        self.stdout.write(
            self.style.WARNING(
                "Log in as 'admin' at /cms/ or /dashboard/ with the password from "
                "SANDBOX_ADMIN_PASSWORD (default 'admin'). It is a DEMO password: "
                "never expose the sandbox publicly."
            )
        )

    def log(self, message: str) -> None:
        if self.verbosity >= 1:
            self.stdout.write(f"  {message}")
