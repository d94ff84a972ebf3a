"""Catalog dashboard pages, mounted at /catalog/ on merchant hosts (merchants.urls)."""
from django.urls import path

from catalog import views

urlpatterns = [
    path("products/", views.product_list, name="catalog-products"),
    path("products/new/", views.product_new, name="catalog-product-new"),
    path("products/<int:product_id>/", views.product_edit, name="catalog-product-edit"),
    path("products/<int:product_id>/images/", views.product_images, name="catalog-product-images"),
    path("products/<int:product_id>/specifications/", views.product_specifications, name="catalog-product-specifications"),
    path("warehouses/", views.warehouse_list_page, name="catalog-warehouses"),
    path("warehouses/<int:warehouse_id>/", views.warehouse_edit, name="catalog-warehouse-edit"),
    path("stock/", views.stock_list, name="catalog-stock"),
    path("stock/<int:variant_id>/", views.stock_variant, name="catalog-stock-variant"),
    path("import/", views.import_page, name="catalog-import"),
    path("import/<uuid:job_id>/", views.import_job, name="catalog-import-job"),
    path("import/<uuid:job_id>/status/", views.import_status, name="catalog-import-status"),
    path("export/", views.export, name="catalog-export"),
]
