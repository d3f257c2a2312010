"""``python -m auth_service create-user NAME [--role admin]``: see :mod:`auth_service.admin`."""

from __future__ import annotations

import sys

from auth_service.admin import main

sys.exit(main())
