"""Merchant API: the merchant's own profile."""
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.tenancy import current_merchant
from permissions.api_auth import capability


class MerchantOutput(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    status = serializers.CharField()
    default_currency = serializers.CharField()


class MerchantProfileView(APIView):
    permission_classes = [capability("dashboard.view")]

    @extend_schema(responses=MerchantOutput, summary="This merchant's profile")
    def get(self, request):
        return Response(MerchantOutput(current_merchant()).data)
