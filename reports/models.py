"""Reports' tables (all in `public`): each part keeps its models in its own module, imported here."""
from reports.rollup_models import (  # noqa: F401  sales rollups (reports/rollups.py)
    MerchantDayRollup,
    MerchantHourRollup,
    MerchantProductDayRollup,
    MerchantRegionRollup,
    MerchantValueBandRollup,
    SuborderFact,
)
