"""Measure the NLU: 5-fold cross-validation on data/nlu and the held-out test sets.

Prints intent and entity F1 (weighted, as Rasa reports them) beside the bars
set for the project. Run with `make nlu-eval`; reports go to var/nlu-eval/.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RASA = ROOT / ".venv" / "bin" / "rasa"
OUT = ROOT / "var" / "nlu-eval"
MODEL = ROOT / "models" / "assistant.tar.gz"
BARS = {"intent": 0.95, "entity": 0.90}
EXTRACTOR_REPORT = "KnowledgeFactExtractor_report.json"
HELD_OUT = sorted((ROOT / "tests" / "nlu").glob("*.yml"))


def rasa_test(name: str, args: list[str]) -> Path:
    out = OUT / name
    command = [str(RASA), "test", "nlu", "--out", str(out), *args]
    print(f"==> {name}: {' '.join(command[1:])}", flush=True)
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if run.returncode != 0:
        sys.stderr.write(run.stdout[-3000:] + run.stderr[-3000:])
        raise SystemExit(f"rasa test nlu failed for {name}")
    return out


def f1(report_file: Path) -> tuple[float, float]:
    report = json.loads(report_file.read_text())
    return report["weighted avg"]["f1-score"], report["macro avg"]["f1-score"]


def main() -> int:
    results = {"5-fold cross-validation": rasa_test(
        "cv", ["--nlu", "data/nlu", "--config", "config.yml", "--cross-validation", "--folds", "5"]
    )}  # fmt: skip
    for held_out in HELD_OUT:
        results[f"held out: {held_out.name}"] = rasa_test(
            f"heldout-{held_out.stem}", ["--nlu", str(held_out.relative_to(ROOT)), "--model", str(MODEL)]
        )
    print(f"\n{'set':<38} {'intent F1 (weighted/macro)':>28} {'entity F1 (weighted/macro)':>28}")
    all_pass = True
    for name, out in results.items():
        intent, intent_macro = f1(out / "intent_report.json")
        entity, entity_macro = f1(out / EXTRACTOR_REPORT)
        ok = intent >= BARS["intent"] and entity >= BARS["entity"]
        all_pass &= ok
        print(
            f"{name:<38} {intent:>15.3f} / {intent_macro:.3f} {entity:>17.3f} / {entity_macro:.3f}"
            f"   {'meets the bars' if ok else 'BELOW the bars'}"
        )
    print(f"\nbars: intent F1 >= {BARS['intent']}, entity F1 >= {BARS['entity']}; reports in {OUT}")
    return 0 if all_pass else 1


if __name__ == "__main__":
    raise SystemExit(main())
