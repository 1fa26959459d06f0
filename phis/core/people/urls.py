from django.urls import path

from phis.core.people import views

app_name = "people"
urlpatterns = [
    path("", views.search, name="search"),
    path("export.xlsx", views.export, name="export"),
    path("<int:person_id>/", views.detail, name="detail"),
    path("<int:person_id>/360/", views.person_360_page, name="person_360"),
    path("<int:person_id>/360/fhir.json", views.person_fhir_download, name="person_fhir"),
    path("mpi/reviews/", views.review_queue, name="review_queue"),
    path("mpi/reviews/<int:review_id>/", views.review_detail, name="review_detail"),
    path("mpi/merges/<int:merge_id>/unmerge/", views.merge_undo, name="merge_undo"),
]
