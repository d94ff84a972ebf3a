"""Serves uploaded media (product images) from the default storage's disk in development and the demo.

Names are random and never rewritten, so responses are cacheable for a year. Production puts an
object store (or the web server) in front and sets MALLARD_SERVE_MEDIA=0.
"""
from django.conf import settings
from django.http import Http404
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET
from django.views.static import serve


@require_GET
@cache_control(public=True, max_age=31536000, immutable=True)
def serve_media(request, path: str):
    if not getattr(settings, "MALLARD_SERVE_MEDIA", True) or not path.startswith("merchants/"):
        raise Http404("No such file")
    response = serve(request, path, document_root=settings.MEDIA_ROOT)  # safe_join refuses ../
    response["X-Content-Type-Options"] = "nosniff"
    return response
