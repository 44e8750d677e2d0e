"""URL layout B: Wagtail owns "/", Oscar's prefixes (/catalogue/, /basket/, /checkout/,
/accounts/, /dashboard/, /search/ ...) sit at the root, Wagtail's catch-all comes last."""

from __future__ import annotations

from django.apps import apps
from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.documents import urls as wagtaildocs_urls
from wagtail.views import serve as wagtail_serve

urlpatterns: list[URLPattern | URLResolver] = [
    # Oscar's nav_accounts.html reverses 'set_language' whenever LANGUAGES has >1 entry (P1).
    path("i18n/", include("django.conf.urls.i18n")),
    path("django-admin/", admin.site.urls),
    path("cms/", include(wagtailadmin_urls)),  # Oscar's dashboard keeps /dashboard/
    path("documents/", include(wagtaildocs_urls)),
]

# The webhook path /whatsapp/webhook/ is a documented public interface.
urlpatterns.append(path("whatsapp/", include("wagtail_wa_consent.urls")))
urlpatterns.append(path("wa-simulator/", include("wagtail_wa_consent.simulator.urls")))

urlpatterns += [
    # Shadows Oscar's "" (a redirect to OSCAR_HOMEPAGE) so "/" is the Wagtail home page.
    path("", wagtail_serve, {"path": ""}, name="wagtail_home"),
    path("", include(apps.get_app_config("oscar").urls[0])),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

# Wagtail's catch-all must stay last, or it would swallow the shop's URLs.
urlpatterns.append(path("", include(wagtail_urls)))
