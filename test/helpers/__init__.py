"""Real servers, proxies and processes for the tests: no mocks."""
