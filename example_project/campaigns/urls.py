from __future__ import annotations

from django.urls import path

from campaigns import views

app_name = "campaigns"

urlpatterns = [
    path("", views.campaign_list, name="list"),
    path("campaigns/<int:pk>/", views.dashboard, name="dashboard"),
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/<str:key>/", views.inbox, name="message"),
    path("inbox/<str:key>/html/", views.message_html, name="message_html"),
    path("pages/<slug:slug>/", views.site_page, name="site_page"),
]
