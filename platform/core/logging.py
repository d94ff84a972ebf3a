"""Log records carry the schema and the request id."""
import contextvars
import logging

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            from core.tenancy import current_schema

            record.schema = current_schema()
        except Exception:
            record.schema = "-"
        record.request_id = request_id_var.get()
        return True
