"""Imports every area's models so that the metadata is whole (for Alembic and tests).

An area that adds models to the app database adds one import line here.
"""

from joinedup import audit  # noqa: F401
from joinedup.collaborations import models as collaborations_models  # noqa: F401
from joinedup.places import models as places_models  # noqa: F401
from joinedup.places import public_page as places_public_page  # noqa: F401
from joinedup.surveys import models as surveys_models  # noqa: F401
from joinedup.value import models as value_models  # noqa: F401
