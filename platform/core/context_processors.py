from django.conf import settings

from core.tenancy import current_merchant


def mallard(request):
    return {"MALL_HOST": settings.MALL_HOST, "current_merchant": current_merchant()}
