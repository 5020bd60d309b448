"""Screenshots of the main web pages, in docs/screenshots/ (PNG).

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]

Builds a throw-away SQLite database with the synthetic demo data (`flask demo load`), serves
the app on a free local port and drives Debian's headless Chromium through chromedriver (the
same pair as the browser tests). Public pages are taken at a phone's width, the coordinators'
at a laptop's. Needs no internet; nothing of the real instance is touched.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# Before the app is imported: tasks (the SMS of a report) run inline, no worker needed.
os.environ.setdefault("HUEY_IMMEDIATE", "1")

PHONE = (412, 915)
LAPTOP = (1280, 900)
MAX_HEIGHT = 4000


def _driver() -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
    ):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def _shoot(driver: Any, url: str, path: Path, size: tuple[int, int]) -> None:
    """The whole page at this width, up to MAX_HEIGHT pixels tall."""
    width, height = size
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
    )
    if url:
        driver.get(url)
    full = driver.execute_script("return document.documentElement.scrollHeight")
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {
            "width": width,
            "height": min(max(full, height), MAX_HEIGHT),
            "deviceScaleFactor": 1,
            "mobile": width < 600,
        },
    )
    driver.save_screenshot(str(path))
    print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


def _fill(driver: Any, values: dict[str, str]) -> None:
    from selenium.webdriver.common.by import By

    for name, value in values.items():
        field = driver.find_element(By.ID, name)
        field.clear()
        field.send_keys(value)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    from flask_migrate import upgrade
    from selenium.webdriver.common.by import By
    from werkzeug.serving import make_server

    from app import create_app
    from app.extensions import db
    from app.matching.models import MatchCandidate

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{Path(tmp) / 'screens.db'}",
                "REUNITE_ENV": "development",
                "RATELIMIT_ENABLED": False,
                "PHOTO_DIR": str(Path(tmp) / "photos"),
                "LOG_LEVEL": "WARNING",
            }
        )
        with app.app_context():
            upgrade()
        output = app.test_cli_runner().invoke(args=["demo", "load"]).output
        app.test_cli_runner().invoke(args=["volunteers", "demo"])
        email, password = re.search(r"coordinator (\S+) password (\S+)", output).groups()
        with app.app_context():
            match_id = db.session.scalar(
                db.select(MatchCandidate.id)
                .where(MatchCandidate.kind == "match")
                .order_by(MatchCandidate.score.desc())
            )
            from app.volunteers.models import Task, Volunteer
            from app.volunteers.service import dispatch

            task = db.session.scalar(db.select(Task).order_by(Task.priority.desc(), Task.id))
            if task is not None:  # a round of offers, so the task page shows why each volunteer
                dispatch.dispatch_task(task=task, actor="demo")
                db.session.commit()
            task_id = task.id if task is not None else None
            volunteer_id = db.session.scalar(db.select(Volunteer.id).order_by(Volunteer.id))

        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}"
        driver = _driver()
        try:
            shots = args.out
            _shoot(driver, f"{base}/?lang=en", shots / "home-en.png", PHONE)
            _shoot(driver, f"{base}/?lang=ar", shots / "home-ar.png", PHONE)
            driver.get(f"{base}/language/es?next=/report/missing")
            _fill(driver, {"full_name": "Marisol Quiñones Vega", "age": "treinta"})
            driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
            _shoot(driver, "", shots / "missing-form-error-es.png", PHONE)
            _fill(driver, {"age": "34", "author_phone": "+1 555 555 0123"})
            driver.find_element(By.ID, "consent").click()
            driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
            _shoot(driver, "", shots / "done-es.png", PHONE)
            _shoot(driver, f"{base}/report/found?lang=ar", shots / "found-form-ar.png", PHONE)
            _shoot(driver, f"{base}/check?lang=fr", shots / "check-fr.png", PHONE)
            driver.get(f"{base}/language/es?next=/volunteer")
            _fill(driver, {"name": "Lucía Ramos", "phone": "55 1234"})
            driver.find_element(By.ID, "consent").click()
            driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
            _shoot(driver, "", shots / "volunteer-form-error-es.png", PHONE)

            driver.get(f"{base}/language/en?next=/coordinator/login")
            _fill(driver, {"email": email, "password": password})
            driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
            _shoot(driver, f"{base}/coordinator/", shots / "coordinator-dashboard.png", LAPTOP)
            _shoot(driver, f"{base}/coordinator/matches", shots / "coordinator-queue.png", LAPTOP)
            if match_id:
                _shoot(
                    driver,
                    f"{base}/coordinator/matches/{match_id}",
                    shots / "coordinator-match.png",
                    LAPTOP,
                )
            _shoot(
                driver,
                f"{base}/coordinator/reports?q=garc",
                shots / "coordinator-search.png",
                LAPTOP,
            )
            _shoot(driver, f"{base}/coordinator/sms", shots / "coordinator-sms.png", LAPTOP)
            _shoot(driver, f"{base}/coordinator/map", shots / "coordinator-map-list.png", LAPTOP)
            _shoot(driver, f"{base}/coordinator/tasks", shots / "coordinator-tasks.png", LAPTOP)
            if task_id:
                _shoot(
                    driver,
                    f"{base}/coordinator/tasks/{task_id}",
                    shots / "coordinator-task.png",
                    LAPTOP,
                )
            _shoot(
                driver,
                f"{base}/coordinator/tasks/new",
                shots / "coordinator-task-new.png",
                LAPTOP,
            )
            _shoot(
                driver,
                f"{base}/coordinator/volunteers",
                shots / "coordinator-volunteers.png",
                LAPTOP,
            )
            if volunteer_id:
                _shoot(
                    driver,
                    f"{base}/coordinator/volunteers/{volunteer_id}",
                    shots / "coordinator-volunteer.png",
                    LAPTOP,
                )
            _shoot(driver, f"{base}/coordinator/tasks/plan", shots / "coordinator-plan.png", LAPTOP)
            # A roster of synthetic people (one with an impossible age) up to its preview;
            # not imported, so the throw-away database is all it touches.
            roster = Path(tmp) / "refugio.csv"
            roster.write_text(
                "Nº registro;Nombre completo;Edad;Sexo;Municipio\n"
                "201;Marisol Quiñones Vega;41;Mujer;Yauco\n"
                "202;Tomás Ileana Brau;abc;H;Guánica\n"
                "203;Wen Li Okafor;29;M;Ponce\n",
                encoding="utf-8",
            )
            driver.get(f"{base}/coordinator/rosters/new")
            driver.find_element(By.ID, "file").send_keys(str(roster))
            _fill(driver, {"source_name": "Escuela Segunda Unidad"})
            driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
            _shoot(driver, "", shots / "coordinator-roster-preview.png", LAPTOP)
        finally:
            driver.quit()
            server.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
