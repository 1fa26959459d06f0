from django.urls import path

from phis.apps.notifiable import views

app_name = "notifiable"
urlpatterns = [
    path("", views.home, name="home"),
    path("cards/", views.card_list, name="card_list"),
    path("cards/export.xlsx", views.card_export, name="card_export"),
    path("cards/new/", views.card_new, name="card_new"),
    path("cards/check/", views.card_check, name="card_check"),
    path("cards/person-lookup/", views.person_lookup, name="person_lookup"),
    path("cards/communities/", views.communities, name="communities"),
    path("cards/<int:card_id>/", views.card_detail, name="card_detail"),
    path("cards/<int:card_id>/edit/", views.card_edit, name="card_edit"),
    path("cards/<int:card_id>/revise/", views.card_revise, name="card_revise"),
    path("cards/<int:card_id>/lab-results/", views.card_lab_result, name="card_lab_result"),
    path("cards/<int:card_id>/<slug:action>/", views.card_action, name="card_action"),
    path("review/", views.review_queue, name="review_queue"),
    path("suspected/", views.suspected, name="suspected"),
    path("suspected/export.xlsx", views.suspected_export, name="suspected_export"),
    path("import/", views.import_page, name="import"),
    path("import/template.csv", views.import_template, name="import_template"),
]
