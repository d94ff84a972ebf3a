"""Public storefront API: browse the listing index across stores (no sign-in needed)."""
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from core.money import Money
from storefront.selectors import listing_list_for_shopper


class ListingOutput(serializers.Serializer):
    store = serializers.CharField(source="merchant.slug")
    store_name = serializers.CharField()
    product_id = serializers.IntegerField()
    variant_id = serializers.IntegerField()
    sku = serializers.CharField()
    name = serializers.CharField()
    options = serializers.JSONField()
    category = serializers.CharField()
    price_minor = serializers.IntegerField()
    currency = serializers.CharField()
    price = serializers.SerializerMethodField()
    image_url = serializers.CharField()
    available = serializers.IntegerField()
    stock_state = serializers.CharField()

    def get_price(self, obj) -> str:
        return Money(obj.price_minor, obj.currency).format()


class ListingQuery(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")
    store = serializers.SlugField(required=False, allow_blank=True, max_length=40, default="")
    category = serializers.CharField(required=False, allow_blank=True, max_length=120, default="")


class ListingCursor(CursorPagination):
    ordering = ("name", "id")
    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"


class ListingListView(APIView):
    """GET /api/v1/listings/?q=&store=&category= — listed variants of active stores, cursor-paginated."""

    permission_classes = [AllowAny]
    authentication_classes: list = []  # public browsing; no session CSRF or token needed
    pagination_class = ListingCursor  # documents the page shape and its cursor/page_size parameters

    @extend_schema(parameters=[ListingQuery], responses=ListingOutput(many=True),
                   summary="Listed variants of active stores, by name (cursor pagination)")
    def get(self, request):
        query = ListingQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        qs = listing_list_for_shopper(**query.validated_data)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(ListingOutput(page, many=True).data)
