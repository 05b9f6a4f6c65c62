"""End to end: a recorded sweep, found in the MLflow UI the way a person clicks to it.

Opt-in (it needs Debian's `chromium`, the `e2e` extra (Playwright, which drives
that chromium; it downloads no browser of its own) and a few minutes):

    apt-get install chromium && pip install -e ".[e2e]"
    RNNEXP_E2E=1 pytest -m e2e tests/test_ui_e2e.py

Records a tiny `tagging` sweep and starts `python -m rnnexp ui` on it, which
prints its deep links once the server answers. In headless Chromium it then
follows the printed experiment list: clicks the experiment, then the sidebar's
"Model training" switch (MLflow 3.17 opens a listed experiment on its GenAI
view in a fresh browser), asserts the Model-training runs page with the
experiment's Description (its question), clicks the sweep's parent run by its
name and asserts its Description is the finding card with the study figure.
Each child run's page names its parent. Screenshots of the parent page, the
figure and the trials' compare page are kept as test artifacts in
`$RNNEXP_E2E_OUT` (default: `tests/artifacts/e2e/`, git-ignored); the folder is printed.
"""

import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import mlflow
import pytest
from conftest import free_port

from rnnexp.report import card
from rnnexp import catalog, cli

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(os.environ.get("RNNEXP_E2E") != "1", reason="opt-in: RNNEXP_E2E=1"),
    pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium"),
]

# Headless, and nothing reaching out to the network (this machine has none to reach).
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Screenshots kept as the test's artifacts (git-ignored), unless $RNNEXP_E2E_OUT names a folder.
ARTIFACTS = Path(__file__).resolve().parent / "artifacts" / "e2e"
WAIT_MS = 120_000  # a loaded 2-core machine renders a page in tens of seconds


def printed_links(server, deadline_s=300) -> dict:
    """What `rnnexp ui` printed once its server answered: `{label: url}`."""
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in server.stdout], daemon=True).start()
    links, deadline, said = {}, time.monotonic() + deadline_s, []
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1).rstrip()
        except queue.Empty:
            assert server.poll() is None, f"`rnnexp ui` exited: {said}"
            continue
        said.append(line)
        if line.startswith("MLflow UI: http"):
            links["list"] = line.split(": ", 1)[1]
        elif line.strip().startswith(("the study ", "its trials ")):
            label, url = line.strip().rsplit(" ", 1)
            links[label.strip()] = url
            if label.strip() == "its trials":
                return links
    raise AssertionError(f"`rnnexp ui` printed no links in {deadline_s} s: {said}")


def test_a_person_clicks_from_the_experiment_list_to_the_answer(tmp_path):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=WAIT_MS)

    uri = f"sqlite:///{tmp_path}/mlflow.db"
    tiny = ["--set", "train.epochs=1", "--set", "data.train_size=100", "--set", "sweep.cells=[rnn]"]
    assert cli.main(["run", "tagging", "--profile", "ci", "--tracking-uri", uri, *tiny]) == 0
    mlflow.set_tracking_uri(uri)
    experiment = mlflow.get_experiment_by_name("tagging").experiment_id
    runs = mlflow.search_runs([experiment], output_format="list")
    parent = next(r for r in runs if r.data.tags.get("rnnexp.role") == "sweep")
    children = [r for r in runs if r.data.tags.get("rnnexp.role") == "trial"]
    assert len(children) == 2

    out = Path(os.environ.get("RNNEXP_E2E_OUT") or ARTIFACTS)
    out.mkdir(parents=True, exist_ok=True)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "rnnexp", "ui", "--tracking-uri", uri, "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        links = printed_links(server)
        assert links["list"].endswith("/#/experiments?workflowType=machine_learning")
        assert parent.info.run_id in links["the study"]
        with sync_playwright() as pw:
            chromium = shutil.which("chromium")
            browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.set_default_timeout(WAIT_MS)

            # experiment list -> the experiment. MLflow 3.17's list links carry no view, and a
            # fresh browser opens them on the GenAI view whatever the experiment's kind tag says
            # (the UI derives the kind from its global workflowType: `?workflowType=`, else
            # localStorage `mlflow.workflowType_v1`, default "genai"). There a "Detect Issues"
            # tour popover sets `pointer-events: none` on the page until "Got it" is clicked
            # (why clicks once "did nothing"); a person clicks it, then the sidebar's
            # "Model training" switch, which the UI remembers.
            page.goto(links["list"])
            page.get_by_role("link", name="tagging", exact=True).first.click()
            expect(page).to_have_url(re.compile(f"/experiments/{experiment}/"))
            page.screenshot(path=out / "after-list-click.png")
            got_it = page.get_by_role("button", name="Got it")
            try:
                got_it.wait_for(timeout=30_000)
                got_it.click()
            except PlaywrightTimeout:
                pass  # no tour on this view
            page.get_by_text("Model training", exact=True).first.click()
            expect(page).to_have_url(re.compile(r"/runs\?.*workflowType=machine_learning"))
            # The runs page writes its view state into the URL once its table has loaded
            # (`orderByKey=...`); a click before that is undone by that navigation.
            expect(page).to_have_url(re.compile("orderByKey="))
            # The name's link in the runs table; the experiment's Description above it links the
            # newest sweep by the same name, but MLflow opens Description links in a new tab.
            run_link = page.locator("a:not([target='_blank'])", has_text=parent.info.run_name).first
            expect(run_link).to_be_visible()
            expect(page.get_by_role("link", name="Runs", exact=True)).to_be_visible()
            expect(page.get_by_role("link", name="Judges")).to_have_count(0)  # GenAI's
            expect(page.get_by_text(card.question(catalog.get("tagging"))).first).to_be_visible()
            page.screenshot(path=out / "experiment-runs.png", full_page=True)
            assert page.evaluate("localStorage.getItem('mlflow.workflowType_v1')") == (
                '"machine_learning"'
            )

            # -> the parent run, by clicking its name in the runs table: its Description is the
            # finding card, with the study figure. The table refetches its runs as the URL
            # settles ("0 matching runs" for a while on a loaded machine).
            listed = page.get_by_text(re.compile(r"^[1-9][0-9]* matching runs"))
            expect(listed.first).to_be_visible()
            expect(run_link).to_be_visible()
            run_link.click()
            expect(page).to_have_url(re.compile(f"/runs/{parent.info.run_id}"))
            verdict = card.verdict(catalog.get("tagging"), None).split(":", 1)[1].strip()
            expect(page.get_by_text(verdict.rstrip(".")).first).to_be_visible()
            expand = page.get_by_role("button", name="Expand description")
            if expand.count():  # MLflow folds a long Description behind "Show more"
                expand.first.click()
            figure = page.locator("img[src*='get-artifact']").first  # its alt text is dropped
            expect(figure).to_be_visible()
            page.wait_for_function(
                "img => img.complete && img.naturalWidth > 100", arg=figure.element_handle()
            )
            expect(page.get_by_text("PASS", exact=False).first).to_be_visible()
            page.screenshot(path=out / "parent-run.png", full_page=True)
            figure.screenshot(path=out / "figure.png")

            # the trials side by side, from the link the UI printed
            page.goto(links["its trials"])
            for child in children:
                expect(page.get_by_text(child.info.run_name).first).to_be_visible()
            plot = page.locator(".js-plotly-plot svg.main-svg").first  # drawn after the table
            expect(plot).to_be_visible()
            page.wait_for_function(
                "() => document.querySelectorAll('.js-plotly-plot .plot-container').length > 0"
            )
            page.screenshot(path=out / "compare-trials.png", full_page=True)

            # every child's page names its parent
            for child in children:
                page.goto(links["the study"].replace(parent.info.run_id, child.info.run_id))
                expect(page.get_by_text(child.info.run_name).first).to_be_visible()
                expect(page.get_by_text(parent.info.run_name).first).to_be_visible()
            browser.close()
        for name in ("parent-run.png", "figure.png", "compare-trials.png"):
            assert (out / name).stat().st_size > 10_000, f"{name} is empty"
        print(f"screenshots (parent run, figure, compare page): {out}")
    finally:
        server.terminate()
        server.wait(timeout=90)
