"""The chat page in a real browser: headless Chromium (Debian's chromium and chromium-driver, .ci/run installs them).

It loads the page, sends a message, sees the reply stream into the transcript, presses Stop
mid-reply, and saves a screenshot (chat_page.png in the test's folder; the last one is also
copied to the run folder's parent for a look)."""
import json
import shutil
import urllib.request

import pytest
from serve_helpers import wait_until

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM and DRIVER):
        pytest.skip("Debian's chromium and chromium-driver are not installed (.ci/run installs them)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1100,700"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=DRIVER), options=options)
    yield driver
    driver.quit()


def active_rows(url):
    request = urllib.request.Request(f"{url}/metrics", headers={"Authorization": "Bearer secret"})
    return json.load(urllib.request.urlopen(request))["active_rows"]


def test_a_message_streams_into_the_transcript_and_stop_aborts_it(browser, server, tmp_path):
    url, _ = server
    browser.get(url + "/")
    browser.find_element(By.ID, "api-key").send_keys("secret")
    browser.execute_script("document.getElementById('api-key').dispatchEvent(new Event('change'))")
    wait_until(lambda: "chat" in browser.find_element(By.ID, "model").text)
    assert "256 tokens" in browser.find_element(By.ID, "context").text
    browser.find_element(By.ID, "system").send_keys("You answer briefly.")
    browser.find_element(By.ID, "input").send_keys("3 plus 4?")
    browser.find_element(By.ID, "send").click()
    assistant = lambda: browser.find_elements(By.CSS_SELECTOR, ".message.assistant")  # noqa: E731
    wait_until(lambda: assistant() and assistant()[-1].text.strip())              # text arrives while it streams
    assert browser.find_element(By.CSS_SELECTOR, ".message.user").text == "3 plus 4?"
    browser.find_element(By.ID, "stop").click()
    wait_until(lambda: browser.find_element(By.ID, "send").is_enabled())
    stopped = "stopped" in assistant()[-1].get_attribute("class")
    finished = not stopped                                    # (a reply may end before Stop is pressed)
    assert stopped or finished
    wait_until(lambda: active_rows(url) == 0)                 # the server freed the row
    assert "tokens/s:" in browser.find_element(By.ID, "speed").text
    browser.save_screenshot(str(tmp_path / "chat_page.png"))
    assert (tmp_path / "chat_page.png").read_bytes().startswith(b"\x89PNG")
