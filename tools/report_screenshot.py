"""Make docs/report.png, the README's picture of the report: the reference platform with one
change in its working tree, reported with --base HEAD, shot in Debian's Chromium.

    .venv/bin/python tools/report_screenshot.py
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WEB = "deployments/domains/applications/apps/web-app/base/manifests/deployment.yaml"


def main() -> int:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if chromium is None:
        print("Debian's chromium is needed (apt-get install chromium)", file=sys.stderr)
        return 1
    gitplane = [sys.executable, "-m", "gitplane"]
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "platform"
        subprocess.run([*gitplane, "init", str(repo)], check=True, capture_output=True)
        env = ["-c", "user.name=gitplane", "-c", "user.email=gitplane@example.com"]
        subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
        subprocess.run(["git", *env, "commit", "-qm", "platform"], cwd=repo, check=True)
        f = repo / WEB
        f.write_text(f.read_text().replace("1.27.3", "1.27.4"))
        out = Path(tmp) / "report.html"
        subprocess.run([*gitplane, "-C", str(repo), "report", "-o", str(out), "--base",
                        "HEAD", "--title", "reference platform"], check=True)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(out.as_uri())
            page.screenshot(path=str(ROOT / "docs" / "report.png"))
            browser.close()
    print("wrote docs/report.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
