"""The web chat widget in real headless Chromium (Debian's), against the real servers.

Needs /usr/bin/chromium (scripts/setup_browser.sh installs it) and tests/web/vendor/axe.min.js
(scripts/vendor_js.sh). Playwright drives the browser through executable_path: its own browser
downloads are never used. Conversations use the keyboard only, as a keyboard user would.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from email.message import Message
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from chatbot.config import PROJECT_ROOT
from tests.browser import AXE, headless_chromium

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
SCREENSHOT = PROJECT_ROOT / "var" / "screenshots" / "widget-mid-conversation.png"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
WAIT_MS = 20_000  # one turn takes about a second; this is for a slow machine

OPENING = "I've been off work with stress for six weeks and my fit note runs out Friday. I live in Islington."
REFERENCE = re.compile(r"^HW-[A-Z0-9]{5}-[A-Z0-9]{5}$")

expect.set_options(timeout=WAIT_MS)


# ---- the browser, and pages that may only talk to loopback ----


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with headless_chromium() as browser:
        yield browser


class Pages:
    """Opens the demo page in fresh browser contexts; every request is routed and must stay on loopback."""

    def __init__(self, browser, rasa_url: str):
        self.browser = browser
        self.rasa_url = rasa_url
        self.contexts: list = []
        self.requests: list[str] = []
        self.problems: list[str] = []

    def _route(self, route) -> None:
        url = route.request.url
        self.requests.append(url)
        if urlsplit(url).hostname in LOOPBACK:
            route.continue_()
        else:
            route.abort()

    def _console(self, message) -> None:
        # A CSP refusal, a failed load or a script error shows here.
        if message.type == "error":
            self.problems.append(message.text)

    def open(
        self, query: str = "", width: int = 1024, height: int = 900, host_page: str = "", **context_options
    ):
        """The demo page (or, given host_page, that HTML at another loopback origin), connected."""
        context = self.browser.new_context(viewport={"width": width, "height": height}, **context_options)
        self.contexts.append(context)
        context.route("**/*", self._route)
        page = context.new_page()
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(str(error)))
        url = f"{self.rasa_url}/webhooks/web/{query}"
        if host_page:
            url = self.other_origin() + "/council-page.html"
            page.route(
                url, lambda route: route.fulfill(body=host_page, content_type="text/html; charset=utf-8")
            )
        page.goto(url)
        wait_until_connected(page)
        return page

    def other_origin(self) -> str:
        """The same server by another name: a different origin, and the one CORS_ORIGINS allows by default."""
        return self.rasa_url.replace("127.0.0.1", "localhost")

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def pages(browser, live_servers) -> Iterator[Pages]:
    opened = Pages(browser, live_servers.rasa_url)
    yield opened
    opened.close()
    outside = [url for url in opened.requests if urlsplit(url).hostname not in LOOPBACK]
    assert outside == [], f"requests left loopback: {outside}"
    assert opened.problems == [], f"errors in the browser console: {opened.problems}"


def wait_until_connected(page) -> None:
    """The visitor's first use (focus on the message box) opens the connection."""
    page.wait_for_selector(".hwc-input", state="visible", timeout=WAIT_MS)
    page.locator(".hwc-input").focus()
    page.wait_for_selector(".hwc[data-connected='true']", timeout=WAIT_MS)


def test_a_page_nobody_types_into_opens_no_connection(browser, live_servers):
    pages = Pages(browser, live_servers.rasa_url)
    try:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        pages.contexts.append(context)
        context.route("**/*", pages._route)
        page = context.new_page()
        page.goto(f"{live_servers.rasa_url}/webhooks/web/")
        page.wait_for_selector(".hwc-input", state="visible", timeout=WAIT_MS)
        page.wait_for_timeout(2500)  # long enough for socket.io's first poll
        assert not [u for u in pages.requests if "/socket.io/" in u and "socket.io.min.js" not in u]
        assert page.locator(".hwc").get_attribute("data-connected") != "true"
        page.locator(".hwc-input").focus()
        page.wait_for_selector(".hwc[data-connected='true']", timeout=WAIT_MS)
    finally:
        pages.close()


# ---- keyboard only: Tab, Shift+Tab, typing, Enter ----


def focused(page) -> dict:
    return page.evaluate(
        """() => { const e = document.activeElement;
                   return {cls: e ? String(e.className) : '', text: e ? e.textContent.trim() : ''}; }"""
    )


def tab_to_input(page) -> None:
    for _ in range(20):
        if "hwc-input" in focused(page)["cls"]:
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached the message box; focus is on {focused(page)}")


def bot_turns(page) -> int:
    return page.locator(".hwc-turn-bot").count()


def wait_for_reply(page, turns_before: int) -> None:
    page.wait_for_function(
        "n => document.querySelectorAll('.hwc-turn-bot').length > n", arg=turns_before, timeout=WAIT_MS
    )


def say(page, text: str) -> None:
    """Type into the message box and press Enter; wait for the assistant's answer."""
    before = bot_turns(page)
    tab_to_input(page)
    page.keyboard.type(text)
    page.keyboard.press("Enter")
    expect(page.locator(".hwc-user").last).to_have_text(re.compile(re.escape(text)))
    expect(page.locator(".hwc-input")).to_be_focused()
    expect(page.locator(".hwc-input")).to_have_value("")
    wait_for_reply(page, before)


def choose(page, title: str) -> None:
    """Press a choice button with the keyboard: Shift+Tab back from the message box, then Enter."""
    expect(page.get_by_role("button", name=title, exact=True)).to_be_visible()
    tab_to_input(page)
    for _ in range(30):
        page.keyboard.press("Shift+Tab")
        now = focused(page)
        if "hwc-choice" in now["cls"] and now["text"] == title:
            break
    else:
        raise AssertionError(f"Shift+Tab never reached the button {title!r}")
    before = bot_turns(page)
    page.keyboard.press("Enter")
    expect(page.locator(".hwc-user").last).to_have_text(re.compile(re.escape(title)))
    # The conversation keeps the focus, not the message box (on a phone that would open the
    # keyboard over the next question); Tab from there reaches the next choices.
    expect(page.locator(".hwc-log")).to_be_focused()
    wait_for_reply(page, before)


def reach_recommendations(page) -> None:
    say(page, OPENING)
    expect(page.get_by_text("Do you want to be in work")).to_be_visible()
    say(page, "yes")
    choose(page, "Amwell Group Practice")
    expect(page.get_by_role("button", name="Refer me to Get Back on Track", exact=True)).to_be_visible()


# ---- accessibility checks ----


def axe_violations(page) -> list[dict]:
    if not page.evaluate("typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE))
    return page.evaluate(
        """async (tags) => {
             const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
             return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                                 nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}));
           }""",
        AXE_TAGS,
    )


def assert_accessible(page, where: str) -> None:
    violations = axe_violations(page)
    assert violations == [], f"axe-core found problems {where}:\n" + json.dumps(violations, indent=1)
    scroll = page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
    assert scroll[0] <= scroll[1], (
        f"horizontal scrolling {where}: content {scroll[0]} px, window {scroll[1]} px"
    )


# ---- the tests ----


def test_a_keyboard_user_reaches_recommendation_cards(pages):
    page = pages.open()
    reach_recommendations(page)

    cards = page.locator(".hwc-card")
    expect(cards.first.get_by_role("heading", name="Get Back on Track")).to_be_visible()
    expect(cards.first.locator(".hwc-card-why")).to_have_text("You are registered at Amwell Group Practice.")
    expect(cards.first.locator(".hwc-next")).to_contain_text("we can send your details")
    # Get Back on Track's facts come from a 2017 board report: the short card says so.
    expect(cards.first.locator(".hwc-checked")).to_have_text(
        re.compile(r"^From a 2017 report, checked \d{1,2} [A-Z][a-z]{2} \d{4}\.$")
    )
    assert cards.count() >= 2
    # The cards take the place of the same recommendations sent as text: nothing twice.
    expect(page.locator(".hwc-bot", has_text="Why:")).to_have_count(0)

    # The recommendation turn: a lead-in, the cards, the question; short before the question.
    turn = page.locator(".hwc-turn-bot").last
    parts = turn.locator(":scope > .hwc-bot-entry, :scope > .hwc-cards-box")
    expect(parts).to_have_count(3)
    before_question = parts.nth(0).inner_text() + parts.nth(1).inner_text()
    assert len(before_question) < 900, len(before_question)
    expect(parts.nth(2).locator(".hwc-bot")).to_have_text(re.compile(r"Would you like that\?$"))

    # Everything the short cards leave out is one tap away.
    choose(page, "More about these services")
    details = page.locator(".hwc-turn-bot").last
    expect(details).to_contain_text("Why it fits: you live in Islington")
    expect(details).to_contain_text("Facts from a report of")
    expect(details).to_contain_text("They may have changed")
    expect(page.get_by_role("button", name="Refer me to Get Back on Track", exact=True)).to_be_visible()

    # The focused button shows the focus ring: yellow inside black (at least 3:1 on any background).
    ring = page.evaluate(
        """() => { const b = document.querySelector('.hwc-choice'); b.focus({focusVisible: true});
                   const s = getComputedStyle(b);
                   return [s.outlineStyle, s.outlineWidth, s.outlineColor, s.boxShadow]; }"""
    )
    assert ring[:3] == ["solid", "3px", "rgb(255, 221, 0)"] and "rgb(11, 12, 12)" in ring[3]

    # The picture for people to look at: the person's answer, the cards, calm.
    page.evaluate("document.activeElement.blur()")
    page.evaluate(
        """() => { const log = document.querySelector('.hwc-log');
                   const mine = [...log.querySelectorAll('.hwc-turn-user')].pop();
                   log.scrollTop = mine.offsetTop - 12; }"""
    )
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.locator("#health-work-chat").screenshot(path=str(SCREENSHOT), animations="disabled")
    assert SCREENSHOT.stat().st_size > 10_000


def test_a_referral_ends_with_a_confirmation_and_its_reference(pages):
    page = pages.open()
    reach_recommendations(page)
    choose(page, "Refer me to Get Back on Track")
    expect(page.get_by_text("Do you agree")).to_be_visible()
    choose(page, "Yes, I agree")
    expect(page.get_by_text("What name should the service use")).to_be_visible()
    say(page, "Sam Test")
    choose(page, "Email")
    expect(page.get_by_text("What is your email address?")).to_be_visible()
    say(page, "sam.test@example.com")
    choose(page, "Morning")
    expect(page.get_by_text("Is this right?")).to_be_visible()
    choose(page, "Yes, send it")

    panel = page.locator(".hwc-confirm")
    expect(panel).to_be_visible()
    expect(panel.get_by_role("heading", name="Referral sent")).to_be_visible()
    expect(panel).to_contain_text("Get Back on Track")
    reference = panel.locator(".hwc-reference").inner_text()
    assert REFERENCE.match(reference), reference
    expect(page.locator(".hwc-bot", has_text=f"Your reference is {reference}")).to_be_visible()


def test_a_reload_keeps_the_conversation_and_its_context(pages):
    page = pages.open()
    say(page, OPENING)
    expect(page.get_by_text("Do you want to be in work")).to_be_visible()
    session_id = page.evaluate("JSON.parse(localStorage.getItem('hwc.session')).id")

    page.reload()
    wait_until_connected(page)
    assert page.evaluate("JSON.parse(localStorage.getItem('hwc.session')).id") == session_id
    expect(page.locator(".hwc-user").first).to_have_text(re.compile("off work with stress"))  # shown again
    expect(page.get_by_role("button", name="Yes", exact=True)).to_be_visible()  # still answerable

    say(page, "yes")  # means something only as the answer to the question before the reload
    expect(page.get_by_text("Which GP surgery are you registered with?")).to_be_visible()
    expect(page.get_by_role("button", name="Amwell Group Practice", exact=True)).to_be_visible()

    # A new tab carries on the same conversation; what was said stays in the first tab only.
    other = page.context.new_page()
    other.goto(page.url)
    wait_until_connected(other)
    expect(other.get_by_text("You are carrying on an earlier conversation")).to_be_visible()
    expect(other.locator(".hwc-user")).to_have_count(0)
    other.close()

    # Start again: with the keyboard, from the message box back to the control in the header.
    for _ in range(30):
        page.keyboard.press("Shift+Tab")
        if focused(page)["text"] == "Start again":
            break
    page.keyboard.press("Enter")
    expect(page.locator(".hwc-input")).to_be_focused()
    expect(page.locator(".hwc-user")).to_have_count(1)
    expect(page.locator(".hwc-user")).to_have_text(re.compile("Start again"))  # earlier turns cleared
    expect(page.get_by_text("OK, let's start again.")).to_be_visible()


def test_end_chat_and_clear_leaves_nothing_for_the_next_person_at_a_shared_screen(pages):
    page = pages.open()
    say(page, OPENING)
    expect(page.get_by_text("Do you want to be in work")).to_be_visible()
    before = page.evaluate("JSON.parse(localStorage.getItem('hwc.session')).id")
    page.get_by_role("button", name="End chat and clear").click()
    expect(page.get_by_text("Chat ended and cleared from this browser")).to_be_visible()
    expect(page.locator(".hwc-user")).to_have_count(0)
    assert page.evaluate("sessionStorage.getItem('hwc.transcript')") in (
        None,
        "null",
    ) or "stress" not in page.evaluate("sessionStorage.getItem('hwc.transcript') || ''")
    page.reload()
    wait_until_connected(page)
    expect(page.get_by_text("You are carrying on an earlier conversation")).to_have_count(0)
    expect(page.locator(".hwc-user")).to_have_count(0)
    assert page.evaluate("(JSON.parse(localStorage.getItem('hwc.session')) || {}).id") != before
    say(page, "hello")
    expect(page.get_by_text("Who is this for?")).to_be_visible()  # a fresh conversation, not the last one


def test_axe_finds_no_problems_at_start_mid_conversation_at_320_px_and_at_200_percent_zoom(pages):
    # bypass_csp only lets the test inject axe-core; the other tests run under the page's CSP.
    page = pages.open(bypass_csp=True)
    assert_accessible(page, "at the start")
    reach_recommendations(page)
    expect(page.locator(".hwc-card").first).to_be_visible()
    assert_accessible(page, "with buttons and cards")

    page.set_viewport_size({"width": 320, "height": 640})
    assert_accessible(page, "at 320 px wide")

    page.goto(page.url.split("/webhooks/web/")[0] + "/webhooks/web/embed")
    assert_accessible(page, "on the embed page")

    # 200% zoom of a 1280 x 720 window: 640 x 360 CSS pixels at two device pixels each.
    zoomed = pages.open(width=640, height=360, device_scale_factor=2, bypass_csp=True)
    reach_recommendations(zoomed)
    assert_accessible(zoomed, "at 200% zoom")
    expect(zoomed.locator(".hwc-send")).to_be_in_viewport()  # reachable without sideways scrolling


def test_the_snippet_from_the_embed_page_works_on_another_sites_page(pages, live_servers):
    embed = pages.open()
    embed.goto(f"{live_servers.rasa_url}/webhooks/web/embed")
    snippet = embed.locator("pre.snippet").inner_text()
    assert snippet.count("<script") == 1 and snippet.count("<div") == 1
    council_page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>A council page</title></head>'
        f"<body><main><h1>Work and health</h1>{snippet}</main></body></html>"
    )
    # The page is made up by the test (route.fulfill), so Chromium cannot tell it is on loopback and
    # would ask before it reaches 127.0.0.1 (Local Network Access). A council site and an assistant
    # both on the internet are never asked; the permission stands in for that here.
    page = pages.open(host_page=council_page, width=800, height=800, permissions=["local-network-access"])
    assert page.evaluate("location.origin") != live_servers.rasa_url  # cross-origin, as on a council site
    say(page, OPENING)
    expect(page.get_by_role("button", name="Yes", exact=True)).to_be_visible()
    assert page.evaluate("typeof window.io") == "undefined"  # nothing left behind in the host page


# ---- what people see: every step of a conversation at three screen sizes ----

SIZES = [(1280, 800, "desktop"), (768, 1024, "tablet"), (375, 700, "phone")]

# What part of the screen shows the conversation: the window, less the sticky message box
# below it on a phone, and the conversation's own box where it scrolls inside itself.
VISIBLE = """(selector) => {
  const log = document.querySelector('.hwc-log');
  const form = document.querySelector('.hwc-form').getBoundingClientRect();
  const scrolls = getComputedStyle(log).overflowY !== 'visible';
  const box = log.getBoundingClientRect();
  const top = scrolls ? Math.max(0, box.top) : 0;
  const bottom = Math.min(window.innerHeight, form.top, scrolls ? box.bottom : Infinity);
  const turns = document.querySelectorAll('.hwc-turn-bot');
  const said = turns[turns.length - 1].querySelectorAll('.hwc-bot');
  const question = said[said.length - 1].getBoundingClientRect();
  const input = document.querySelector('.hwc-input').getBoundingClientRect();
  return {
    question: question.top >= top - 1 && question.bottom <= bottom + 1,
    input: input.top >= 0 && input.bottom <= window.innerHeight,
    focus: document.activeElement ? String(document.activeElement.className) : '',
    scrollers: [...document.querySelectorAll('*')].filter(e => {
      const o = getComputedStyle(e).overflowY;
      return (o === 'auto' || o === 'scroll') && e.scrollHeight > e.clientHeight;
    }).length,
  };
}"""


def look(page, name: str, step: int, what: str) -> dict:
    """Screenshot the window as the person sees it, and say what is in view."""
    page.wait_for_timeout(150)  # the widget scrolls after it has laid the turn out
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOT.parent / f"widget-{name}-{step:02d}-{what}.png"
    page.screenshot(path=str(shot), animations="disabled")
    seen = page.evaluate(VISIBLE)
    assert seen["input"], f"{name}, step {step} ({what}): the message box is out of view"
    assert seen["question"], f"{name}, step {step} ({what}): the newest question is out of view"
    return seen


def tap(page, title: str, touch: bool) -> None:
    before = bot_turns(page)
    button = page.get_by_role("button", name=title, exact=True)
    button.tap() if touch else button.click()
    wait_for_reply(page, before)


def type_and_send(page, text: str) -> None:
    before = bot_turns(page)
    page.locator(".hwc-input").fill(text)
    page.locator(".hwc-input").press("Enter")
    wait_for_reply(page, before)


@pytest.mark.parametrize("width, height, name", SIZES, ids=[n for *_, n in SIZES])
def test_at_each_step_the_message_box_and_the_newest_question_are_in_view(pages, width, height, name):
    phone = name == "phone"
    options = {"is_mobile": True, "has_touch": True, "device_scale_factor": 2} if phone else {}
    page = pages.open(width=width, height=height, bypass_csp=True, **options)
    page.evaluate("window.scrollTo(0, 0)")
    look(page, name, 1, "start")
    type_and_send(page, OPENING)
    look(page, name, 2, "first-answer")
    tap(page, "Yes", phone)
    seen = look(page, name, 3, "after-a-tap")
    assert "hwc-input" not in seen["focus"], "a tap put the focus in the message box (a phone's keyboard)"
    tap(page, "Amwell Group Practice", phone)
    seen = look(page, name, 4, "recommendations")
    tap(page, "More about these services", phone)
    seen = look(page, name, 5, "details")
    if phone:
        # One scrolling area on a phone: the page, not a box inside it as well.
        assert seen["scrollers"] == 0, "something scrolls inside the page on a phone"
    assert_accessible(page, f"at {width}x{height} after the details")


def test_start_again_shows_once_there_is_something_to_start_again(pages):
    page = pages.open()
    expect(page.get_by_role("button", name="Start again")).to_be_hidden()
    expect(page.get_by_role("button", name="End chat and clear")).to_be_hidden()
    say(page, "hello")
    expect(page.get_by_role("button", name="Start again")).to_be_visible()
    expect(page.get_by_role("button", name="End chat and clear")).to_be_visible()


def test_a_touch_screen_gets_no_hover_colours(pages):
    page = pages.open(width=375, height=700, is_mobile=True, has_touch=True)
    assert page.evaluate("matchMedia('(hover: none)').matches")
    say(page, OPENING)
    button = page.get_by_role("button", name="Yes", exact=True)
    button.hover()
    assert button.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(255, 255, 255)"
    desktop = pages.open(width=1280, height=800)
    say(desktop, OPENING)
    other = desktop.get_by_role("button", name="Yes", exact=True)
    other.hover()
    assert other.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(232, 239, 248)"


def test_save_or_print_gives_a_clean_page_with_the_services_and_no_conversation(pages):
    page = pages.open()
    # The browser's print dialog is outside the widget: count calls instead of opening it.
    page.evaluate("() => { window.printed = 0; window.print = () => { window.printed += 1; }; }")
    reach_recommendations(page)
    page.get_by_role("button", name="Save or print these details").click()
    assert page.evaluate("window.printed") == 1
    page.emulate_media(media="print")
    printed = page.locator("body").inner_text()
    assert "Health and work support: your details" in printed
    assert "Get Back on Track" in printed and "If you need help now" in printed
    assert "Call 999 now." in printed
    assert "stress" not in printed and "six weeks" not in printed  # nothing the person said
    assert not page.locator(".hwc-panel").is_visible()  # the conversation is not printed
    page.emulate_media(media="screen")
    page.evaluate("window.dispatchEvent(new Event('afterprint'))")
    expect(page.locator(".hwc-panel")).to_be_visible()


def test_the_typing_dots_keep_still_when_motion_is_reduced(pages):
    page = pages.open(reduced_motion="reduce")
    animation = "getComputedStyle(document.querySelector('.hwc-dot')).animationName"
    assert page.evaluate(animation) == "none"
    page.emulate_media(reduced_motion="no-preference")
    assert page.evaluate(animation) == "hwc-pulse"


def test_text_is_shown_as_text_and_the_source_goes_once_with_the_first_message(pages, live_servers):
    page = pages.open(query="?ref=test-poster")
    markup = "<img src=x onerror=\"document.title='x'\"> <b>bold</b>"
    say(page, markup)
    assert page.locator(".hwc-log img, .hwc-log b").count() == 0
    assert page.title() != "x"
    assert page.evaluate("getComputedStyle(document.querySelector('.hwc-bot')).whiteSpace") == "pre-wrap"
    say(page, "I live in Islington")

    session_id = page.evaluate("JSON.parse(localStorage.getItem('hwc.session')).id")
    url = f"{live_servers.rasa_url}/conversations/{session_id}/tracker?token={live_servers.token}"
    with urllib.request.urlopen(url, timeout=10) as response:
        events = json.loads(response.read())["events"]
    said = [event.get("metadata") or {} for event in events if event["event"] == "user"]
    assert len(said) == 2
    assert said[0].get("source") == "test-poster" and said[0].get("channel") == "web"
    assert "source" not in said[1]
    # Everything the page loaded, socket.io's polling included, went through the loopback check.
    assert any("/socket.io/" in url and "transport=polling" in url for url in pages.requests)
    assert not any("transport=websocket" in url for url in pages.requests)


def test_the_server_logs_hold_no_errors_after_the_widget_conversations(live_servers):
    # After the browser tests above: their conversations went through Rasa's socket.io channel.
    logs = "\n".join(
        path.read_text(errors="replace") for path in (live_servers.settings.var_dir / "logs").glob("*.log")
    )
    assert "unexpected keyword argument" not in logs
    errors = [line for line in logs.splitlines() if " ERROR " in line and "not authenticated" not in line]
    assert errors == []


# ---- serving: a fixed list of files, the right types, nothing else ----


def fetch(url: str, headers: dict | None = None) -> tuple[int, Message, bytes]:
    """Status, headers (any case) and body of a GET."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def test_widget_files_are_served_with_their_types_and_the_pages_with_a_strict_csp(live_servers):
    web = f"{live_servers.rasa_url}/webhooks/web/"
    expected = {
        "": "text/html",
        "embed": "text/html",
        "widget.js": "text/javascript",
        "widget.css": "text/css",
        "demo.css": "text/css",
        "favicon.svg": "image/svg+xml",
        "vendor/socket.io.min.js": "text/javascript",
        "vendor/socket.io.LICENSE": "text/plain",
    }
    for path, content_type in expected.items():
        status, headers, body = fetch(web + path)
        assert status == 200, path
        assert headers["Content-Type"].startswith(content_type), path
        assert headers["X-Content-Type-Options"] == "nosniff"
        if content_type == "text/html":
            csp = headers["Content-Security-Policy"]
            assert "default-src 'self'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
            assert "https://" not in body.decode() or path == "embed"  # no CDN at run time
            assert "<script>" not in body.decode()  # no inline script

    status, _, page = fetch(web)
    assert '<script src="/webhooks/web/widget.js"' in page.decode()
    assert '<div id="health-work-chat"></div>' in page.decode()

    # Cheap to serve again: gzip, and a 304 for what the browser already has.
    status, headers, body = fetch(web + "vendor/socket.io.min.js", {"Accept-Encoding": "gzip"})
    assert headers["Content-Encoding"] == "gzip" and gzip.decompress(body).startswith(b"/*!\n * Socket.IO v4")
    status, _, _ = fetch(
        web + "vendor/socket.io.min.js", {"Accept-Encoding": "gzip", "If-None-Match": headers["ETag"]}
    )
    assert status == 304


def test_the_embed_page_gives_the_snippet_for_this_server(live_servers):
    origin = live_servers.rasa_url
    status, _, body = fetch(f"{origin}/webhooks/web/embed")
    html = body.decode()
    assert status == 200
    assert "&lt;div id=&quot;health-work-chat&quot;&gt;&lt;/div&gt;" in html or (
        '&lt;div id="health-work-chat"&gt;&lt;/div&gt;' in html
    )
    assert f'&lt;script src="{origin}/webhooks/web/widget.js" data-server="{origin}" defer&gt;' in html
    # A forged Host header comes back escaped, never as markup.
    status, _, body = fetch(f"{origin}/webhooks/web/embed", {"Host": 'x"><b>y'})
    assert status >= 400 or '"><b>' not in body.decode()


@pytest.mark.parametrize(
    "path",
    [
        "../../credentials.yml",
        "..%2f..%2fcredentials.yml",
        "%2e%2e/%2e%2e/credentials.yml",
        "vendor/",
        "vendor/../web.py",
        "static/widget.js",
        "chat.js",
        "widget.js/",
        "vendor/socket.io.min.js.map",
        "demo.html",
    ],
)
def test_nothing_outside_the_fixed_list_is_served(live_servers, path):
    status, _, body = fetch(f"{live_servers.rasa_url}/webhooks/web/{path}")
    assert status in (400, 404), (path, status)
    assert b"socketio:" not in body and b"import" not in body


# ---- Rasa's socket.io output, as corrected by the web channel ----


class RecordingSocket:
    def __init__(self) -> None:
        self.emitted: list[tuple[tuple, dict]] = []

    async def emit(self, *args, **kwargs) -> None:
        self.emitted.append((args, kwargs))


def run_async(coroutine) -> None:
    # Playwright's sync API keeps an event loop running in this thread: use another thread.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, coroutine).result()


def test_custom_payloads_reach_socketio_clients_as_the_event_data():
    from rasa.core.channels.socketio import SocketIOOutput

    from chatbot.channels.web import deliver_custom_payloads_over_socketio

    deliver_custom_payloads_over_socketio()
    deliver_custom_payloads_over_socketio()  # twice changes nothing
    sio = RecordingSocket()
    output = SocketIOOutput(sio, "bot_uttered")
    payload = {"recommendations": [{"service_id": "a", "name": "A"}]}
    run_async(output.send_custom_json("room-1", dict(payload)))
    run_async(output.send_custom_json("room-1", {"data": {"x": 1}}))  # Rasa's own shape still works
    assert sio.emitted == [
        (("bot_uttered", payload), {"room": "room-1"}),
        (("bot_uttered",), {"data": {"x": 1}, "room": "room-1"}),
    ]
