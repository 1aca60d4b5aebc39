"""Print Rasa's own dependency list as requirement lines for Python 3.10.

Rasa 3.6 declares Requires-Python <3.11, so pip on 3.11 cannot resolve it
directly. We read its metadata, evaluate the markers as Python 3.10 would
(with the `spacy` extra), and apply the two overrides that 3.11 needs.
"""

from importlib.metadata import requires

from packaging.markers import default_environment
from packaging.requirements import Requirement

OVERRIDES = {
    # matplotlib<3.6 has no 3.11 wheel; 3.7 does and Rasa only plots with it.
    "matplotlib": "matplotlib>=3.6,<3.8",
    # TensorFlow 2.12's bound.
    "numpy": "numpy<1.24",
}


def main() -> None:
    env = default_environment()
    env.update(python_version="3.10", python_full_version="3.10.13")
    for dist in ("rasa", "rasa-sdk"):
        for line in requires(dist) or []:
            req = Requirement(line)
            if req.marker:
                wanted = any(req.marker.evaluate({**env, "extra": extra}) for extra in ("", "spacy"))
                if not wanted:
                    continue
                req.marker = None
            print(OVERRIDES.get(req.name.lower(), str(req)))


if __name__ == "__main__":
    main()
