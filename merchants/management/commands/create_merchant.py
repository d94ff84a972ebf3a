"""Create a merchant: schema (cloned from the template), host and optional owner."""
import time

from django.core.management.base import BaseCommand, CommandError

from core.errors import DomainError
from merchants.services import merchant_create
from permissions.models import User
from permissions.services import user_create
from tenants.selectors import merchant_host


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("name")
        parser.add_argument("--owner", help="owner's email; created with a random password if new")
        parser.add_argument("--email", help="contact email for the welcome message")

    def handle(self, *args, slug, name, owner=None, email=None, **options):
        started = time.perf_counter()
        try:
            owner_user = None
            if owner:
                owner_user = User.objects.filter(email=owner.lower()).first() or user_create(email=owner, password=None)
            merchant = merchant_create(slug=slug, name=name, contact_email=email or owner, owner=owner_user)
        except DomainError as exc:
            raise CommandError(f"{exc.field or 'error'}: {exc.message}") from None
        self.stdout.write(f"created {merchant.name} at http://{merchant_host(merchant)}/ "
                          f"(schema {merchant.schema_name}) in {time.perf_counter() - started:.2f}s")
