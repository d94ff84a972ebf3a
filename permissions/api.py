"""Account API: who am I (with my roles here), and personal API tokens."""
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.tenancy import current_merchant
from permissions.selectors import membership_roles
from permissions.services import api_token_create


class MeOutput(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    full_name = serializers.CharField()
    is_operator = serializers.BooleanField()
    merchant = serializers.CharField(allow_null=True)
    roles = serializers.ListField(child=serializers.CharField())


class MeView(APIView):
    @extend_schema(responses=MeOutput, summary="The signed-in user and their roles on this host's merchant")
    def get(self, request):
        merchant = current_merchant()
        return Response(MeOutput({
            "id": request.user.pk, "email": request.user.email, "full_name": request.user.full_name,
            "is_operator": request.user.is_staff,
            "merchant": merchant.slug if merchant else None,
            "roles": membership_roles(user=request.user, merchant=merchant) if merchant else [],
        }).data)


class TokenCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=80)


class TokenCreateOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    token = serializers.CharField(help_text="Shown once; only its hash is stored.")


class TokenCreateView(APIView):
    @extend_schema(request=TokenCreateInput, responses={201: TokenCreateOutput}, summary="Create a personal API token")
    def post(self, request):
        data = TokenCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        token, secret = api_token_create(user=request.user, name=data.validated_data["name"])
        return Response(TokenCreateOutput({"id": token.pk, "name": token.name, "token": secret}).data, status=201)
