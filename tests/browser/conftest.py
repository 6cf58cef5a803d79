"""Makes the browser harness fixtures available to every test under tests/browser."""

from tests.browser.harness import start_voila  # noqa: F401
