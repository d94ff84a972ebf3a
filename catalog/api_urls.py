"""Merchant API routes of the catalog (mounted under /api/v1/ on merchant hosts)."""
from django.urls import path

from catalog import api, api_stock

urlpatterns = [
    path("catalog/products/", api.ProductsView.as_view(), name="api-catalog-products"),
    path("catalog/products/<int:product_id>/", api.ProductDetailView.as_view(), name="api-catalog-product"),
    path("catalog/categories/", api.CategoriesView.as_view(), name="api-catalog-categories"),
    path("catalog/warehouses/", api.WarehousesView.as_view(), name="api-catalog-warehouses"),
    path("catalog/warehouses/<int:warehouse_id>/", api.WarehouseDetailView.as_view(), name="api-catalog-warehouse"),
    path("catalog/variants/<int:variant_id>/stock/", api.VariantStockView.as_view(), name="api-catalog-variant-stock"),
    path("catalog/variants/<int:variant_id>/movements/", api.VariantMovementsView.as_view(), name="api-catalog-variant-movements"),
    path("catalog/stock/receipts/", api.StockReceiptView.as_view(), name="api-catalog-stock-receipts"),
    path("catalog/stock/adjustments/", api.StockAdjustmentView.as_view(), name="api-catalog-stock-adjustments"),
    path("catalog/stock/stocktakes/", api.StocktakeView.as_view(), name="api-catalog-stock-stocktakes"),
    path("stock/", api_stock.StockView.as_view(), name="api-stock"),
]
