"""How many rows an UPDATE or DELETE changed, read one way everywhere.

`AsyncSession.execute` is typed as returning `Result`, while only the cursor result it
really returns for such statements carries `rowcount`.
"""

from typing import Any

from sqlalchemy.engine import Result


def changed_rows(result: Result[Any]) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
