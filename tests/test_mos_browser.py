"""The rating page in a real browser: headless Chromium driven by selenium rates, zooms, reloads and finishes.

Needs Debian's Chromium and its driver (`apt-get install -y chromium chromium-driver`) and selenium (the dev
extra); without them the test skips and says which is missing. The screenshots land in the test's tmp dir
(run with --basetemp=DIR to keep them at a known place).
"""

from __future__ import annotations

import shutil
import sqlite3

import pytest

from jaxsharp.mos import server, store, study

CHROMIUM = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
CHROMEDRIVER = shutil.which("chromedriver")
IMAGES = ("monarch", "zebra")  # two Set14 images, read from ../shared/data by path
METHODS = ["bicubic", "unsharp", "hr"]


@pytest.fixture(scope="module")
def webdriver():
    if CHROMIUM is None or CHROMEDRIVER is None:
        pytest.skip("no headless browser: install Chromium and its driver with "
                    "`apt-get install -y chromium chromium-driver`")
    selenium = pytest.importorskip("selenium", reason="selenium is not installed (pip install -e '.[dev]')")
    del selenium
    from selenium import webdriver as selenium_webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,900", "--force-device-scale-factor=1"):
        options.add_argument(arg)
    # An explicit driver path: selenium never tries to download one.
    driver = selenium_webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    yield driver
    driver.quit()


@pytest.fixture
def browser_study(shared_data, tmp_path):
    from jaxsharp.mos.prepare import prepare_study

    root = tmp_path / "data"
    (root / "categories" / "benchmark").mkdir(parents=True)
    for name in IMAGES:  # a data root of links: the shared images are read in place, never copied
        (root / "categories" / "benchmark" / f"{name}.png").symlink_to(
            shared_data / "benchmarks" / "Set14" / "HR" / f"{name}.png")
    prepare_study(tmp_path / "study", ["categories"], METHODS, crop=96, margin=16, data_root=root, progress=False)
    return study.load(tmp_path / "study")


def test_rate_with_clicks_and_keys_zoom_reload_finish(webdriver, browser_study, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    driver, n = webdriver, len(browser_study.items)
    db = tmp_path / "mos.sqlite"
    ratings_store = store.Store(db, browser_study)
    wait = WebDriverWait(driver, 20)

    def at_item(k: int) -> str:
        """Waits until item k of n is shown with its image loaded and the buttons enabled; returns its src."""
        wait.until(ec.text_to_be_present_in_element((By.ID, "progress"), f"{k} / {n}"))
        wait.until(lambda d: all(b.is_enabled() for b in d.find_elements(By.CSS_SELECTOR, "#scale button")))
        return driver.find_element(By.ID, "stimulus").get_attribute("src")

    def viewport_height() -> int:
        return driver.execute_script("return window.innerHeight")

    def press(key: str) -> None:
        ActionChains(driver).send_keys(key).perform()

    given = []
    try:
        with server.running(browser_study, ratings_store) as srv:
            driver.delete_all_cookies()
            driver.get(srv.url)
            wait.until(ec.element_to_be_clickable((By.ID, "start"))).click()
            at_item(1)
            driver.find_element(By.CSS_SELECTOR, "#scale button[data-rating='4']").click()
            given.append(4)
            at_item(2)
            driver.find_element(By.CSS_SELECTOR, "#scale button[data-rating='2']").click()
            given.append(2)
            at_item(3)
            press("5")
            given.append(5)
            at_item(4)
            image = driver.find_element(By.ID, "stimulus")
            width = image.size["width"]
            press("+")  # zoom in one step: pixels stay pixels
            assert image.size["width"] > width
            assert image.value_of_css_property("image-rendering") == "pixelated"
            press("0")  # and back to fitting the window
            assert image.size["width"] == width
            press("1")
            given.append(1)
            src = at_item(5)
            assert driver.find_element(By.ID, "progress").text == f"5 / {n}"
            assert driver.execute_script("return document.documentElement.scrollHeight") <= viewport_height()
            driver.save_screenshot(str(tmp_path / "mos_page.png"))
            page = driver.page_source
            assert not any(m in page for m in ("bicubic", "unsharp", "student", "teacher"))
            assert server.IMAGE_ROUTE.fullmatch("/img/" + src.rsplit("/img/", 1)[1])

            driver.refresh()  # a reload resumes at the same item
            assert at_item(5) == src
            viewport = driver.execute_script("return [window.innerWidth, window.innerHeight]")
            for k in range(5, n + 1):
                at_item(k)
                press("3")
                given.append(3)
            wait.until(ec.visibility_of_element_located((By.ID, "done")))
            assert "Thank you" in driver.find_element(By.ID, "done").text
            driver.save_screenshot(str(tmp_path / "mos_done.png"))
    finally:
        ratings_store.close()

    conn = sqlite3.connect(db)
    (count,) = conn.execute("SELECT COUNT(*) FROM participants").fetchone()
    rows = conn.execute("SELECT item_id, method, rating, position, viewport_w, viewport_h FROM ratings "
                        "ORDER BY position").fetchall()
    conn.close()
    assert count == 1 and len(rows) == n
    assert [r[2] for r in rows] == given and [r[3] for r in rows] == list(range(n))
    assert all(browser_study.items[item].method == method for item, method, *_ in rows)
    assert all((w, h) == tuple(viewport) for *_, w, h in rows) and viewport[0] > 0
