from django.urls import path

from . import graph_views, phone_views

app_name = "wa_simulator"

urlpatterns = [
    path("graph/<str:version>/<str:phone_number_id>/messages", graph_views.messages, name="graph_messages"),
    path(
        "graph/<str:version>/<str:waba_id>/message_templates",
        graph_views.message_templates,
        name="graph_templates",
    ),
    path("graph/<str:version>/<str:phone_number_id>", graph_views.phone_number, name="graph_phone_number"),
    path("phone/", phone_views.phone_list, name="phones"),
    path("phone/<str:digits>/", phone_views.chat, name="chat"),
    path("phone/<str:digits>/act/", phone_views.act, name="act"),
]
