"""Reports' tables (all in `public`): each part keeps its models in its own module, imported here."""
from reports.exports_models import ExportJob  # noqa: F401  background exports (reports/exports.py)
from reports.forecast_models import RestockSetting, RestockSuggestion  # noqa: F401  forecasting (reports/forecast.py)
from reports.rollup_models import (  # noqa: F401  sales rollups (reports/rollups.py)
    MerchantDayRollup,
    MerchantHourRollup,
    MerchantProductDayRollup,
    MerchantRegionRollup,
    MerchantValueBandRollup,
    SuborderFact,
)
