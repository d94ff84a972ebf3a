"""Render notification templates with Django's template engine, sandboxed.

The operator's template text is compiled by an engine of our own with no loaders (no {% include %},
{% extends %}), no {% load %}, no {% debug %}/{% url %}/{% csrf_token %}, and without the padding filters
that could build a huge string; it sees only the kind's variables, as plain data (str, int, list, dict,
datetime), never a model instance. `template_check` compiles and renders every field against the kind's
sample and names the first error: a template that fails it is never saved."""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass

from django.template import Context, Engine, Library, TemplateSyntaxError, defaultfilters, defaulttags
from django.utils.translation import gettext as _

from core.errors import ValidationFailed
from notifications.kinds import KINDS

SAFE_TAGS = ("autoescape", "comment", "cycle", "filter", "firstof", "for", "if", "ifchanged", "lorem", "now",
             "regroup", "resetcycle", "spaceless", "templatetag", "verbatim", "widthratio", "with")
UNSAFE_FILTERS = {"center", "ljust", "rjust", "stringformat"}  # a width of 10**9 would allocate that much

register = Library()  # the only library the sandbox knows: notifications.rendering is its builtin
for _name in SAFE_TAGS:
    register.tags[_name] = defaulttags.register.tags[_name]
for _name, _func in defaultfilters.register.filters.items():
    if _name not in UNSAFE_FILTERS:
        register.filters[_name] = _func

MAX_TEMPLATE_CHARS = 20_000
MAX_OUTPUT_CHARS = 200_000
_MISSING = "\x00missing:%s\x00"
_MISSING_RE = re.compile("\x00missing:(.*?)\x00")
FIELDS = ("subject", "body_text", "body_html", "sms_body")
FIELD_LABELS = {"subject": "subject", "body_text": "body_text", "body_html": "body_html", "sms_body": "sms_body"}


class _SandboxEngine(Engine):
    default_builtins: list[str] = []  # not defaulttags/defaultfilters/loader_tags: only our register


def _engine(*, autoescape: bool, checking: bool) -> Engine:
    return _SandboxEngine(dirs=[], app_dirs=False, loaders=[], libraries={}, builtins=["notifications.rendering"],
                          autoescape=autoescape, string_if_invalid=_MISSING if checking else "")


_ENGINES = {(a, c): _engine(autoescape=a, checking=c) for a in (True, False) for c in (True, False)}


def _render_one(source: str, context: dict, *, html: bool, checking: bool = False) -> str:
    if not source:
        return ""
    template = _ENGINES[(html, checking)].from_string(source)
    # a deep copy: a template may call a zero-argument method of the data ({{ lines.0.clear }}); it must not
    # change what the next field, channel or recipient is rendered with
    out = template.render(Context(copy.deepcopy(dict(context)), autoescape=html))
    if len(out) > MAX_OUTPUT_CHARS:
        raise ValueError(_("The rendered text is longer than %(max)s characters.") % {"max": MAX_OUTPUT_CHARS})
    return out


@dataclass(frozen=True)
class Rendered:
    subject: str
    body_text: str
    body_html: str
    sms_body: str


def template_render(fields: dict[str, str], context: dict) -> Rendered:
    """Render the four fields; raises (TemplateSyntaxError, ValueError, ...) on a broken template: callers
    that render stored rows (checked at save) fall back to the built-in default."""
    subject = " ".join(_render_one(fields.get("subject", ""), context, html=False).split())
    return Rendered(subject=subject[:250], body_text=_render_one(fields.get("body_text", ""), context, html=False),
                    body_html=_render_one(fields.get("body_html", ""), context, html=True),
                    sms_body=" ".join(_render_one(fields.get("sms_body", ""), context, html=False).split()))


def template_check(*, kind: str, fields: dict[str, str]) -> Rendered:
    """Compile and render each field with the kind's sample data. Raises ValidationFailed naming the field
    and the error (a syntax error, a tag or filter the sandbox does not offer, a variable the kind does not
    have). Returns the preview."""
    spec = KINDS[kind]
    if not (fields.get("subject") or "").strip():
        raise ValidationFailed(_("The subject is required."), field="subject")
    if not (fields.get("body_text") or "").strip():
        raise ValidationFailed(_("The text body is required."), field="body_text")
    for name in FIELDS:
        source = fields.get(name) or ""
        if "\x00" in source:
            raise ValidationFailed(_("Must not contain NUL characters."), field=name)
        if len(source) > MAX_TEMPLATE_CHARS:
            raise ValidationFailed(_("Must be at most %(max)s characters.") % {"max": MAX_TEMPLATE_CHARS}, field=name)
        try:
            out = _render_one(source, spec.sample, html=name == "body_html", checking=True)
        except TemplateSyntaxError as err:
            raise ValidationFailed(_("Template error in %(field)s: %(error)s") % {"field": name, "error": err},
                                   field=name) from None
        except Exception as err:  # a filter failing on the sample, an output too long
            raise ValidationFailed(_("Template error in %(field)s: %(error)s") % {"field": name, "error": err},
                                   field=name) from None
        missing = _MISSING_RE.search(out)
        if missing:
            raise ValidationFailed(
                _("Template error in %(field)s: unknown variable “%(name)s”; this notification offers: %(names)s.")
                % {"field": name, "name": missing.group(1), "names": ", ".join(spec.variables)}, field=name)
    return template_render(fields, spec.sample)
