"""`/docs` in a real browser: Debian's headless Chromium, driven by selenium, opens the page
served by a running ledger, sees the operations of /openapi.json rendered, and every request
the page made went to the ledger itself (it works offline), none refused by its
Content-Security-Policy."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from api.docs_routes import ASSETS, CONTENT_SECURITY_POLICY
from configuration.settings import Settings
from tests.e2e.ledger_server import RunningLedger, serve

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLedger]:
    store = tmp_path_factory.mktemp("docs") / "ledger.sqlite"
    with serve(Settings(event_store_url=f"sqlite:///{store}")) as running:
        yield running


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    for program in (CHROMIUM, CHROMEDRIVER):
        if shutil.which(program) is None:
            pytest.fail(f"{program} is missing: apt-get install chromium chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def requested_urls(driver: webdriver.Chrome) -> list[str]:
    """Every URL the page asked the network for (Chrome's DevTools log)."""
    urls = []
    for entry in driver.get_log("performance"):
        message: dict[str, Any] = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def test_the_docs_page_lists_the_routes_and_asks_no_other_host(
    running: RunningLedger, browser: webdriver.Chrome
) -> None:
    browser.get(running.base_url + "/docs")
    WebDriverWait(browser, 60).until(
        expected_conditions.presence_of_element_located((By.CSS_SELECTOR, ".opblock-summary"))
    )
    paths = {
        element.get_attribute("data-path")
        for element in browser.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")
    }
    assert {"/reservations", "/orders", "/sales", "/docs"} <= paths, sorted(filter(None, paths))
    assert "glowledger" in browser.find_element(By.CSS_SELECTOR, ".info .title").text
    opened = browser.find_element(By.CSS_SELECTOR, "#operations-reservations-reservations button")
    opened.click()  # an operation opened: its body schema and example rendered too
    WebDriverWait(browser, 30).until(
        expected_conditions.presence_of_element_located((By.CSS_SELECTOR, ".opblock-body"))
    )

    urls = requested_urls(browser)
    assert running.base_url + "/openapi.json" in urls
    network = [u for u in urls if u.split(":", 1)[0] in ("http", "https", "ws", "wss", "ftp")]
    assert [u for u in network if not u.startswith(running.base_url + "/")] == [], network
    refused = [
        entry["message"]
        for entry in browser.get_log("browser")
        if "Content Security Policy" in entry["message"] or entry["level"] == "SEVERE"
    ]
    assert refused == []


def test_the_page_and_its_files_carry_a_strict_policy_and_unknown_files_are_404(
    running: RunningLedger,
) -> None:
    with httpx.Client(base_url=running.base_url, timeout=10) as client:
        page = client.get("/docs")
        assert page.status_code == 200
        assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert "https://" not in page.text and "http://" not in page.text  # no CDN
        for name, media_type in ASSETS.items():
            asset = client.get(f"/docs/{name}")
            assert asset.status_code == 200, name
            assert asset.headers["content-type"] == media_type
            assert len(asset.content) > 500, name
        missing = client.get("/docs/index.html")
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
        assert "swagger-ui-bundle.js" in missing.json()["detail"]
        escaping = client.get("/docs/..%2Fopenapi.json")
        assert escaping.status_code == 404
