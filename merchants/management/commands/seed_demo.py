"""Seed (or top up) the demo mall; safe to run again."""
from django.core.management.base import BaseCommand

from merchants.demo import seed_demo


class Command(BaseCommand):
    help = __doc__

    def handle(self, *args, **options):
        seed_demo(stdout=self.stdout)
