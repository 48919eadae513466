"""Real servers, proxies and processes for the tests: no mocks."""

import os

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
