"""`make audit`: what can be checked about our dependencies from this machine.

    .venv/bin/python scripts/audit.py                  # offline: lock vs venv, pip check
    .venv/bin/python scripts/audit.py --online         # also PyPI's JSON for each pinned package
    .venv/bin/python scripts/audit.py --online --only rasa sanic   # a few packages

Offline it checks that every package of requirements/lock.txt is installed at its pinned
version (and nothing unpinned beside it), and runs `pip check`. Online it reads PyPI's
*unversioned* JSON (https://pypi.org/pypi/<name>/json: the per-version JSON API and OSV,
which pip-audit uses, are not reachable from this project's machines) and reports, per
package: whether our pinned release was yanked; the newest release; and, only when our pin
*is* the newest release, the vulnerabilities PyPI lists for it (PyPI lists them for the
newest release only, so for an older pin the answer is "unknown", never "none").

Findings named in scripts/audit_explained.yml are printed as explained (why the pin stays,
and what limits the exposure); anything else makes the exit code 1. Where pip-audit can
reach OSV (a CI runner with internet), run it too: `pip-audit -r requirements/lock.txt --no-deps`.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements" / "lock.txt"
EXPLAINED = ROOT / "scripts" / "audit_explained.yml"
PYPI_JSON = "https://pypi.org/pypi/{name}/json"
# Installed by the venv itself or by setup.sh (`pip install -e .`), not by the lock.
NOT_FROM_THE_LOCK = {"pip", "setuptools", "wheel", "chatbot", "health-work-signposting"}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lock(path: Path = LOCK) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[canonical(name.split("[")[0])] = version.split(";")[0].strip()
    return pins


def installed() -> dict[str, str]:
    return {canonical(d.metadata["Name"]): d.version for d in metadata.distributions() if d.metadata["Name"]}


def lock_drift(pins: dict[str, str], have: dict[str, str]) -> list[str]:
    problems = [
        f"{n}: pinned {v}, installed {have.get(n, 'nothing')}" for n, v in pins.items() if have.get(n) != v
    ]
    extra = sorted(set(have) - set(pins) - NOT_FROM_THE_LOCK)
    problems += [f"{n} {have[n]}: installed but not in the lock" for n in extra]
    return problems


def pip_check() -> list[tuple[str, str]]:
    """(package the problem is about, pip's line) for each line of `pip check`."""
    out = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True)
    found = []
    for line in out.stdout.splitlines():
        match = (
            re.search(r"but you have (\S+) ", line)
            or re.search(r"requires (\S+), which is not installed", line)
            or re.match(r"(\S+) ", line)
        )
        if match:
            found.append((canonical(match.group(1)), line.strip()))
    return found


def pypi(name: str) -> dict | None:
    try:
        with urllib.request.urlopen(PYPI_JSON.format(name=name), timeout=20) as response:
            return json.load(response)
    except (urllib.error.URLError, TimeoutError, ValueError):
        return None


def online_finding(name: str, pin: str, data: dict | None) -> dict:
    if data is None:
        return {"package": name, "pin": pin, "state": "unreachable"}
    latest = data["info"]["version"]
    files = data.get("releases", {}).get(pin, [])
    yanked = bool(files) and all(f.get("yanked") for f in files)
    finding = {"package": name, "pin": pin, "latest": latest, "yanked": yanked}
    if pin == latest:
        finding["vulnerabilities"] = [v.get("id") for v in data.get("vulnerabilities") or []]
        finding["state"] = "vulnerable" if finding["vulnerabilities"] else "newest, none listed"
    else:
        finding["state"] = "behind (vulnerabilities of the pinned release: unknown here)"
    if yanked:
        finding["state"] = "pinned release was yanked"
    return finding


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--online", action="store_true", help="also ask PyPI's JSON API about each pin")
    parser.add_argument("--only", nargs="*", help="with --online: just these packages")
    parser.add_argument("--json", action="store_true", help="print the findings as JSON")
    args = parser.parse_args()
    explained = yaml.safe_load(EXPLAINED.read_text())
    held_back = {canonical(k): v for k, v in explained["held_back"].items()}
    known_pip = {canonical(k): v for k, v in explained["pip_check"].items()}
    pins = read_lock()
    report: dict = {"lock_drift": lock_drift(pins, installed()), "pip_check": [], "online": []}
    failures = len(report["lock_drift"])
    for package, line in pip_check():
        explained_why = known_pip.get(package)
        report["pip_check"].append({"line": line, "explained": explained_why})
        failures += explained_why is None
    if args.online:
        names = [canonical(n) for n in args.only] if args.only else sorted(pins)
        with ThreadPoolExecutor(max_workers=4) as pool:
            answers = list(pool.map(pypi, names))
        for name, data in zip(names, answers, strict=True):
            finding = online_finding(name, pins.get(name, "?"), data)
            finding["explained"] = held_back.get(name)
            report["online"].append(finding)
            bad = finding["state"] in ("vulnerable", "pinned release was yanked")
            failures += bad and finding["explained"] is None
    report["unexplained"] = failures
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report, len(pins), args.online)
    return 1 if failures else 0


def print_report(report: dict, n_pins: int, online: bool) -> None:
    as_pinned = "yes" if not report["lock_drift"] else "NO"
    print(f"Lock: {n_pins} pinned packages; installed as pinned: {as_pinned}")
    for line in report["lock_drift"]:
        print(f"  DRIFT  {line}")
    print("pip check:" + ("" if report["pip_check"] else " no problems"))
    said = set()
    for item in report["pip_check"]:
        print(f"  {'explained' if item['explained'] else 'PROBLEM  '}  {item['line']}")
        if item["explained"] and item["explained"] not in said:
            said.add(item["explained"])
            print(f"             {item['explained']}")
    if online:
        print("PyPI (unversioned JSON; vulnerabilities are listed for the newest release only):")
        for f in report["online"]:
            latest = f" (newest {f['latest']})" if f.get("latest") and f["latest"] != f["pin"] else ""
            print(f"  {f['package']} {f['pin']}{latest}: {f['state']}")
            if f.get("vulnerabilities"):
                print(f"    listed: {', '.join(f['vulnerabilities'])}")
            if f.get("explained") and f["state"] != "newest, none listed":
                print(f"    held by: {f['explained']['held_by']}; exposure: {f['explained']['exposure']}")
    else:
        print("Not checked: known vulnerabilities (run with --online for what PyPI's JSON can tell,")
        print("and pip-audit where OSV is reachable). Held-back pins and why: scripts/audit_explained.yml.")
    print(f"Unexplained findings: {report['unexplained']}")


if __name__ == "__main__":
    sys.exit(main())
