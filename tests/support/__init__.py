"""What several test files share: fixture warehouses, the browser driver, the Spark session, scoring.

Test files import from here (``from tests.support.warehouse_fixture import
make_small_warehouse``), never from one another. Shared pytest fixtures are in
``tests/conftest.py``. Nothing here is collected as a test.
"""
