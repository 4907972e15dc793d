"""The web page in real headless Chromium against a server started by the test.

Needs Debian's ``chromium`` and ``chromium-driver`` and the ``selenium`` package (``.ci/run``
installs them). Without them the tests skip, except in CI (``JOINTREC_REQUIRE_REALDATA``),
where they fail. A screenshot of each view goes to ``test-output/web/``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.realdata, pytest.mark.e2e]

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-output" / "web"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def _missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "the selenium package is not installed (pip install -e '.[test]')"
    for path in (CHROMIUM, DRIVER):
        if not Path(path).exists():
            return f"{path} not found: apt-get install -y chromium chromium-driver"
    return None


@pytest.fixture(scope="module")
def artifact(ml100k_artifact, tmp_path_factory):
    from jointrec.inference.ann import build_ann

    out = shutil.copytree(ml100k_artifact, tmp_path_factory.mktemp("web") / "ml100k")
    build_ann(out, k=10, queries=200, progress=False)
    return out


@pytest.fixture(scope="module")
def server(artifact):
    from jointrec.testing.server import serving

    with serving(artifact) as (port, _):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def browser():
    reason = _missing()
    if reason:
        if os.environ.get("JOINTREC_REQUIRE_REALDATA"):
            pytest.fail(f"browser tests must run in CI: {reason}")
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="jointrec-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        "--window-size=1280,1000",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # console, for errors
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(30)
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait_for(driver, condition, timeout=20):
    """Waits until ``condition`` is truthy; re-rendered (stale) elements just mean "retry"."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    ignored = (StaleElementReferenceException, NoSuchElementException, IndexError)
    return WebDriverWait(driver, timeout, ignored_exceptions=ignored).until(condition)


def open_view(driver, server, view):
    """A fresh page load (not just a hash change), so no state leaks between tests."""
    driver.get("about:blank")
    driver.get(f"{server}/#{view}")


def rows(driver, container):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, f"#{container} tr.rec")


def titles(driver, container):
    """Titles in a results table, read in one script call (no stale elements)."""
    return driver.execute_script(
        "return Array.from(document.querySelectorAll(`#${arguments[0]} tr.rec td:nth-child(2)`))"
        ".map((td) => td.textContent)",
        container,
    )


def test_user_view_shows_k_recommendations_and_history(browser, server):
    from selenium.webdriver.common.by import By

    open_view(browser, server, "user")
    user = browser.find_element(By.ID, "user-id")
    user.send_keys("5")
    k = browser.find_element(By.ID, "user-k")
    k.clear()
    k.send_keys("7")
    browser.find_element(By.CSS_SELECTOR, "#user-form button[type=submit]").click()
    wait_for(browser, lambda d: len(rows(d, "user-recs")) == 7)
    wait_for(browser, lambda d: len(rows(d, "user-history")) > 0)
    assert "7 recommendations for user 5" in browser.find_element(By.ID, "user-status").text
    history = set(titles(browser, "user-history"))
    assert not history & set(titles(browser, "user-recs"))  # already rated are excluded
    first = rows(browser, "user-recs")[0].text
    assert "(19" in first  # an ML-100k title with its year
    browser.save_screenshot(str(SHOTS / "user.png"))

    before = titles(browser, "user-recs")
    browser.find_element(By.ID, "user-exclude").click()  # include already rated ones
    wait_for(browser, lambda d: titles(d, "user-recs") != before)
    # keyboard: the tabs follow the arrow keys
    from selenium.webdriver.common.keys import Keys

    browser.find_element(By.ID, "tab-user").send_keys(Keys.ARROW_RIGHT)
    assert browser.find_element(By.ID, "tab-visitor").get_attribute("aria-selected") == "true"
    assert browser.switch_to.active_element.get_attribute("id") == "tab-visitor"


def test_new_visitor_rates_three_movies_and_list_changes(browser, server):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    open_view(browser, server, "visitor")
    wait_for(browser, lambda d: len(rows(d, "visitor-recs")) == 10)
    assert "popular" in browser.find_element(By.ID, "visitor-source").text
    lists = [titles(browser, "visitor-recs")]
    for query, stars in (("star wars", "5"), ("empire strikes", "5"), ("toy story", "1")):
        box = browser.find_element(By.ID, "visitor-search")
        box.clear()
        box.send_keys(query)
        wait_for(
            browser,
            lambda d, q=query: (
                d.find_elements(By.CSS_SELECTOR, "#visitor-results li")
                and q.split()[0]
                in d.find_element(By.CSS_SELECTOR, "#visitor-results li .title").text.lower()
            ),
        )

        def rate(d, stars=stars):
            item = d.find_element(By.CSS_SELECTOR, "#visitor-results li")
            Select(item.find_element(By.TAG_NAME, "select")).select_by_value(stars)
            item.find_element(By.CSS_SELECTOR, "button.rate").click()
            return True

        wait_for(browser, rate)
        wait_for(
            browser,
            lambda d, n=len(lists): (
                titles(d, "visitor-recs") != lists[-1]
                and f"{n} rating" in d.find_element(By.ID, "visitor-status").text
            ),
        )
        lists.append(titles(browser, "visitor-recs"))
    assert len(browser.find_elements(By.CSS_SELECTOR, "#visitor-rated li[data-item]")) == 3
    assert "folded in" in browser.find_element(By.ID, "visitor-source").text
    assert not {"Star Wars (1977)", "Toy Story (1995)"} & set(lists[-1])  # rated ones excluded
    browser.save_screenshot(str(SHOTS / "visitor.png"))


def test_item_view_shows_similar_movies(browser, server):
    from selenium.webdriver.common.by import By

    open_view(browser, server, "item")
    box = browser.find_element(By.ID, "item-search")
    box.send_keys("star wars")

    def pick(d):  # the list re-renders while typing: find and click in one go
        first = d.find_element(By.CSS_SELECTOR, "#item-results li")
        if "Star Wars" not in first.text:
            return False
        first.find_element(By.CSS_SELECTOR, "button.pick").click()
        return True

    wait_for(browser, pick)
    wait_for(browser, lambda d: len(rows(d, "item-similar")) == 10)
    assert "Star Wars (1977)" in browser.find_element(By.ID, "item-title").text
    assert "Star Wars (1977)" not in titles(browser, "item-similar")
    browser.save_screenshot(str(SHOTS / "item.png"))


def test_report_shows_metrics_and_plot(browser, server):
    from selenium.webdriver.common.by import By

    open_view(browser, server, "report")
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#report-metrics td"))
    text = browser.find_element(By.ID, "report-metrics").text
    assert "RMSE" in text and "Recall@10" in text
    img = wait_for(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#report-plots img"))
    wait_for(browser, lambda d: d.execute_script("return arguments[0].naturalWidth", img) > 100)
    browser.save_screenshot(str(SHOTS / "report.png"))


def test_narrow_screen_stacks_columns(browser, server):
    from selenium.webdriver.common.by import By

    browser.set_window_size(400, 900)
    try:
        open_view(browser, server, "user")
        browser.find_element(By.ID, "user-id").send_keys("5\n")
        wait_for(browser, lambda d: len(rows(d, "user-recs")) == 10)
        width = browser.execute_script("return document.documentElement.scrollWidth")
        assert width <= 410, f"page is {width}px wide on a 400px screen"
        browser.save_screenshot(str(SHOTS / "user-narrow.png"))
    finally:
        browser.set_window_size(1280, 1000)


def show_user(driver, user):
    """Types ``user`` into the user view's form and submits it."""
    from selenium.webdriver.common.by import By

    box = driver.find_element(By.ID, "user-id")
    box.clear()
    box.send_keys(user)
    driver.find_element(By.CSS_SELECTOR, "#user-form button[type=submit]").click()


def text(driver, element_id):
    return driver.execute_script(
        "return document.getElementById(arguments[0]).textContent", element_id
    )


def test_user_id_with_a_slash_gets_the_labelled_fallback(browser, server):
    """``a/b`` reaches the API as one id (not as a path): an unknown user, so the popular
    movies, labelled as the fallback, in place of the previous user's."""
    open_view(browser, server, "user")
    show_user(browser, "5")
    wait_for(browser, lambda d: len(rows(d, "user-history")) > 0)
    assert text(browser, "user-source") == "personalised by the model"
    before = titles(browser, "user-recs")
    show_user(browser, "a/b")
    wait_for(browser, lambda d: "a/b" in text(d, "user-status"))
    status = text(browser, "user-status")
    assert status == (
        "User a/b is not in the training data: showing the most popular movies (fallback)."
    )
    assert len(rows(browser, "user-recs")) == 10 and titles(browser, "user-recs") != before
    assert text(browser, "user-source") == "popular (fallback)"
    assert text(browser, "user-history") == "Unknown user: no history."
    assert not rows(browser, "user-history")
    browser.save_screenshot(str(SHOTS / "user-fallback.png"))


def test_error_clears_previous_results_and_shows_one_line(browser, server):
    open_view(browser, server, "user")
    show_user(browser, "5")
    wait_for(browser, lambda d: len(rows(d, "user-recs")) == 10 and rows(d, "user-history"))
    show_user(browser, "x" * 65)  # the API refuses ids over 64 characters
    wait_for(browser, lambda d: "65 characters" in text(d, "user-status"))
    errors = browser.execute_script(
        "return Array.from(document.querySelectorAll('.error')).map((e) => e.textContent)"
    )
    assert errors == ["Error: path parameter 'user_id' has 65 characters: expected 1 to 64"]
    for container in ("user-recs", "user-history", "user-source"):
        assert text(browser, container) == "", container  # nothing left of user 5
    browser.save_screenshot(str(SHOTS / "user-error.png"))
    show_user(browser, "5")  # and the next answer replaces the error
    wait_for(browser, lambda d: len(rows(d, "user-recs")) == 10)
    assert not browser.execute_script("return document.querySelectorAll('.error').length")


@pytest.mark.parametrize("view", ["visitor", "item"])
def test_search_without_matches_says_so(browser, server, view):
    from selenium.webdriver.common.by import By

    open_view(browser, server, view)
    results = f"#{view}-results li"
    wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, results)) == 8)
    browser.find_element(By.ID, f"{view}-search").send_keys("xyzzy")
    wait_for(
        browser,
        lambda d: (
            [li.text for li in d.find_elements(By.CSS_SELECTOR, results)]
            == ["no titles match 'xyzzy'"]
        ),
    )
    assert not browser.execute_script("return document.querySelectorAll('.error').length")
    browser.save_screenshot(str(SHOTS / f"{view}-no-match.png"))


def test_page_has_its_icon_and_no_console_errors(browser, server):
    """The page's icon is served by the app (no 404 in the console, nothing fetched from
    elsewhere)."""
    from selenium.webdriver.common.by import By

    browser.get_log("browser")  # drop what earlier tests logged
    open_view(browser, server, "user")
    wait_for(browser, lambda d: "movies" in d.find_element(By.ID, "model-name").text)
    icon = browser.execute_async_script(
        """const done = arguments[arguments.length - 1];
        const link = document.querySelector("link[rel=icon]");
        if (!link) { done(null); return; }
        fetch(link.href).then((r) => r.blob().then((b) => done(
          [new URL(link.href).pathname, r.status, r.headers.get("content-type"), b.size])));"""
    )
    assert icon is not None, "the page declares no icon"
    assert icon[:3] == ["/favicon.ico", 200, "image/png"] and 0 < icon[3] < 1024
    severe = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not severe, severe
