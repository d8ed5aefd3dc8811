"""Results as tables for other tools: records (one flat dict per layer) to a pandas DataFrame.

pandas is optional: it is imported when a DataFrame is asked for, never at package import.
"""
from __future__ import annotations

from .errors import AugurError


def records_dataframe(records: list[dict]):
    """A pandas DataFrame of records; a one-line AugurError when pandas is not installed."""
    try:
        import pandas as pd
    except ImportError:
        raise AugurError("to_dataframe() needs pandas, which is not installed (pip install pandas); "
                         "to_records() gives the same rows as plain dicts") from None
    return pd.DataFrame.from_records(records)
