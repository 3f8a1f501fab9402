"""The template `predictor init` writes is derived from this repository's template.yaml, never kept by hand.

The derivation, in order:
1. blocks between `# >>> repository only` and `# <<< repository only` (the digits image function's
   nested stack, its parameter, condition and output) are left out;
2. each rule in RULES rewrites what names this repository: the iris functions' logical ids become
   App* (app.py's function), their code comes from the project root, and the runtime layer is built
   by SAM from layer/requirements.txt (serverless-predictor from the package index) instead of
   this repository's Makefile.
Every rule must still match, and the result may name nothing of this repository (`derive` raises
otherwise), so a change to template.yaml either carries over or stops the suite.
`PYTHONPATH=tests python -m support.scaffold_template` rewrites predictor/scaffold/files/template.yaml;
tests/scaffold/test_scaffold_template.py holds the committed file to the derivation.
"""

from __future__ import annotations

import re

from support.paths import REPO

SOURCE = REPO / "template.yaml"
DERIVED = REPO / "predictor" / "scaffold" / "files" / "template.yaml"
BEGIN, END = "# >>> repository only", "# <<< repository only"
HEADER = (
    "# Written by `predictor init`: serverless-predictor's production template for the function in app.py.\n"
    "# `sam build` builds the layer from layer/requirements.txt; `sam deploy --guided` deploys it.\n"
)
# (pattern, replacement), applied in order.
RULES: list[tuple[str, str]] = [
    (r"CodeUri: functions/iris/", "CodeUri: ./"),
    (r"ContentUri: layers/runtime/", "ContentUri: layer/"),
    (r"BuildMethod: makefile", "BuildMethod: python3.12"),
    (
        r"Description: pydantic, FastAPI, Mangum, Powertools, numpy, onnxruntime and predictor \((\w+)\)",
        r"Description: serverless-predictor and what layer/requirements.txt names (\1)",
    ),
    (r"pinned third-party wheels for Lambda plus `predictor`", "serverless-predictor and its dependencies"),
    # The dashboard's and alarms' model dimension: the predictor's name, app.py's Classifier.
    (r'(?<=[:,] )"Iris"', '"Classifier"'),
    (r"(?<=Name: model, Value: )Iris\b", "Classifier"),
    (r"\bIris(?=[A-Z])", "App"),
    (r"Iris example function", "The function in app.py"),
    (r"Iris classifier \(ONNX\)( served by predictor)?", "The predictor in app.py"),
    (r"the iris example predictor", "the predictor in app.py"),
    (r"\biris (?=(HTTP |events )?(function|handler))", ""),
    (r"(\$\{AWS::StackName\}|models)/iris\b", r"\1/app"),
]
# What the derived template may not name: this repository's paths and examples.
FORBIDDEN = re.compile(r"iris|digits|functions/|layers/|stacks/|makefile", re.IGNORECASE)


def derive(source: str) -> str:
    kept: list[str] = []
    skipping = False
    for number, line in enumerate(source.splitlines(keepends=True), start=1):
        marker = line.strip()
        if marker in (BEGIN, END) and skipping == (marker == BEGIN):
            opened = "opens" if skipping else "closes"
            raise ValueError(
                f"template.yaml line {number}: a `{marker}` that {opened} no block; pair the markers"
            )
        if marker == BEGIN:
            skipping = True
        elif marker == END:
            skipping = False
        elif not skipping:
            kept.append(line)
    if skipping:
        raise ValueError(f"template.yaml opens a `{BEGIN}` block it never closes")
    text = "".join(kept)
    for pattern, replacement in RULES:
        text, count = re.subn(pattern, replacement, text)
        if count == 0:
            raise ValueError(f"template.yaml no longer matches {pattern!r}: update RULES in {__name__}")
    left = sorted({match.group(0) for match in FORBIDDEN.finditer(text)})
    if left:
        lines = [line for line in text.splitlines() if FORBIDDEN.search(line)]
        raise ValueError(f"the derived template still names {left}: {lines[:5]}; add a rule or a marker")
    return HEADER + text


def write() -> None:
    DERIVED.write_text(derive(SOURCE.read_text()))


if __name__ == "__main__":
    write()
