"""Account API: who am I (with my roles here), and personal API tokens."""
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from core.tenancy import current_merchant
from permissions.models import ApiToken
from permissions.selectors import api_token_get_for_user, api_tokens_for_user, membership_roles
from permissions.services import api_token_create, api_token_revoke


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
    read_only = serializers.BooleanField(required=False, default=False)


class TokenCreateOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    token = serializers.CharField(help_text="Shown once; only its hash is stored.")


class TokenOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField()
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)
    read_only = serializers.BooleanField()


class TokenCreateView(APIView):
    """POST creates a token; GET lists mine (one URL for the collection, as REST clients expect)."""

    @extend_schema(responses=TokenOutput(many=True), summary="My API tokens (secrets are never shown again)")
    def get(self, request):
        return Response(TokenOutput(api_tokens_for_user(user=request.user), many=True).data)

    @extend_schema(request=TokenCreateInput, responses={201: TokenCreateOutput},
                   summary="Create a personal API token for the mall host (signed in on the page; a token cannot mint tokens)")
    def post(self, request):
        if isinstance(request.auth, ApiToken):
            raise PermissionDenied(_("An API token cannot create tokens: sign in on the tokens page."))
        data = TokenCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        token, secret = api_token_create(user=request.user, name=data.validated_data["name"],
                                         read_only=data.validated_data["read_only"], actor=request.user)
        return Response(TokenCreateOutput({"id": token.pk, "name": token.name, "token": secret}).data, status=201)


class TokenRevokeView(APIView):
    @extend_schema(request=None, responses={204: None}, summary="Revoke one of my API tokens")
    def delete(self, request, token_id: int):
        api_token_revoke(token=api_token_get_for_user(user=request.user, token_id=token_id), actor=request.user)
        return Response(status=204)
