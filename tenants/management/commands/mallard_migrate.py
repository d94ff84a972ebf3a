"""Migrate public, then only the merchant schemas that lack a migration, several at a time."""
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connection

from tenants.selectors import merchant_schemas_needing_migration
from tenants.services import public_tenant_ensure, template_schema_ensure


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--processes", type=int, default=None, help="parallel migration processes")

    def handle(self, *args, **options):
        started = time.perf_counter()
        call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
        public_tenant_ensure()
        template_schema_ensure()
        stale, total = merchant_schemas_needing_migration()
        if not stale:
            self.stdout.write(f"mallard: public and all {total} merchant schemas are up to date "
                              f"({time.perf_counter() - started:.1f}s)")
            return
        self.stdout.write(f"mallard: migrating {len(stale)} of {total} merchant schemas in parallel")
        from django.conf import settings
        from django.core.management.commands.migrate import Command as MigrateCommand
        from django_tenants.migration_executors.multiproc import MultiprocessingExecutor

        if options["processes"]:
            settings.TENANT_MULTIPROCESSING_MAX_PROCESSES = options["processes"]
        migrate_options = vars(MigrateCommand().create_parser("manage.py", "migrate").parse_args([]))
        migrate_options.update(interactive=False, verbosity=0)
        connection.close()
        executor = MultiprocessingExecutor([], migrate_options)
        executor.run_migrations(tenants=list(stale))
        self.stdout.write(f"mallard: migrated {len(stale)} schemas in {time.perf_counter() - started:.1f}s")
