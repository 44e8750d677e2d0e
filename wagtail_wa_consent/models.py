"""Django discovers the app's models here; each room keeps its own in its package."""

from .consent.models import (  # noqa: F401
    ConsentEvent,
    ConsentEvidence,
    ConsentState,
    ConsentWording,
    Contact,
    SuppressionEntry,
    WordingSupersession,
)
from .messaging.models import (  # noqa: F401
    ChannelStatus,
    InboundMessage,
    MessageTemplate,
    OutboundMessage,
    WebhookDelivery,
)
from .pages.models import PreferenceCentrePage  # noqa: F401
from .rights.models import DataSubjectRequest, NumberChange  # noqa: F401
from .storefront.models import WhatsAppSettings  # noqa: F401
