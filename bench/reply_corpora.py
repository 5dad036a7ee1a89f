"""Reading new text: how many public reply-parser fixtures Convene's ``new_text`` reproduces.

Reply-parser projects publish the test emails they check their parsers on,
with the text they expect to be kept. This script downloads their source
distributions with ``pip download --no-deps --no-binary :all:`` into a
temporary directory (or reads them from ``--sdists DIR``), reads the
fixtures that ship in them, and runs every input through Convene:

- ``talon`` (Mailgun): ``tests/fixtures/standard_replies/*.eml`` (expected:
  the ``*_reply_text`` file beside it, otherwise "Hello", as talon's own
  test says), read through ``parse_message`` like a received message; the
  ``eq_(expected, quotations.extract_from_plain(body))`` cases of
  ``tests/text_quotations_test.py`` and the ``extract_from_html`` cases of
  ``tests/html_quotations_test.py`` (HTML through ``html_to_text`` first;
  the expected HTML is turned into text the same way), and the HTML replies
  of ``tests/fixtures/html_replies`` (expected: "Hi. I am fine. Thanks,
  Alex"); the stripped-signature fixtures of
  ``tests/fixtures/signature/emails/stripped`` (expected: ``*_body``
  without ``*_signature``). The test modules are read with ``ast``, never
  run. Skipped: the training data of talon's signature classifier and any
  fixture written in its notation (lines marked ``#sig#``, not an email as
  sent), the test functions run under a patched talon (their expectation
  depends on the patch), and the cases whose input or expectation is
  computed rather than written down.
- ``quotequail`` (Close): the parametrised cases of ``tests/test_quote.py``
  and ``tests/test_quote_html.py``; the expected new text is the visible
  part of ``quote(text, quote_intro_line=True)``, the part before the quote
  and its intro line. Its unwrap cases (reading a forwarded message's
  headers) are not about new text and are skipped.
- ``email_reply_parser`` (GitHub) and ``mail-parser-reply``: their sdists
  hold the test modules but not the emails those read (``test/emails``);
  the output says so, and nothing of them is counted.

The comparison: both texts with every run of whitespace made one space and
the ends stripped must be equal (talon's HTML cases compare with all
whitespace removed, as talon's test does). talon and quotequail keep the
signature, a client's footer ("Sent from my iPhone") and a disclaimer in
what they call the reply, and Convene removes them on purpose (a
valediction and the name, title and phone lines under it, and so on), so a
second figure, ``matched_allowing_signature``, also counts a fixture whose
only difference is that: Convene's text equals the expected text once
Convene's own footer and signature rules
(:func:`mailer.mail.read.without_signature`) have been applied to the
expected text too. Each figure is given for
English only and for every language mail-parser-reply knows (the
``[inbound] reply_languages`` setting at its widest). Failures are listed
with ``--failures``.
"""

from __future__ import annotations

import argparse
import ast
import re
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.common import report
from mailer.mail.read import (
    REPLY_LANGUAGES,
    html_to_text,
    new_text,
    parse_message,
    without_signature,
)

PROJECTS = ["talon", "quotequail", "email_reply_parser", "mail-parser-reply"]


@dataclass(frozen=True)
class Fixture:
    project: str
    name: str
    #: The message's text, or its raw bytes (read through ``parse_message``), or HTML.
    given: str | bytes
    expected: str
    html: bool = False
    #: Compare with all whitespace removed (the project's own test does).
    squeeze: bool = False


def download(names: list[str], into: Path) -> dict[str, Path | None]:
    """Each project's unpacked sdist (``None`` when it could not be downloaded)."""
    found: dict[str, Path | None] = {}
    for name in names:
        archive_dir = into / "sdists" / name
        archive_dir.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
            + ["--no-binary", ":all:", "-d", str(archive_dir), name],
            capture_output=True,
            text=True,
        )
        archives = sorted(archive_dir.glob("*.tar.gz"))
        found[name] = (
            unpack(archives[0], into / "src") if done.returncode == 0 and archives else None
        )
    return found


def from_directory(names: list[str], directory: Path, into: Path) -> dict[str, Path | None]:
    found: dict[str, Path | None] = {}
    for name in names:
        stem = name.replace("-", "_").lower()
        archives = [p for p in directory.glob("*.tar.gz") if p.name.lower().startswith(stem + "-")]
        found[name] = unpack(sorted(archives)[-1], into / "src") if archives else None
    return found


def unpack(archive: Path, into: Path) -> Path:
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
        top = tar.getnames()[0].split("/")[0]
    return into / top


# -- talon -------------------------------------------------------------------------------------


def talon_fixtures(root: Path) -> Iterator[Fixture]:
    tests = root / "tests"
    replies = tests / "fixtures" / "standard_replies"
    for eml in sorted(replies.glob("*.eml")):
        expected_file = eml.with_name(eml.stem + "_reply_text")
        expected = expected_file.read_text() if expected_file.exists() else "Hello"
        yield Fixture("talon", f"standard_replies/{eml.name}", eml.read_bytes(), expected.strip())
    files = _talon_fixture_files(tests)
    for name, body, expected, html, squeeze in _eq_cases(tests / "text_quotations_test.py", files):
        yield Fixture("talon", f"text_quotations_test.{name}", body, expected, html, squeeze)
    for name, body, expected, html, squeeze in _eq_cases(tests / "html_quotations_test.py", files):
        yield Fixture("talon", f"html_quotations_test.{name}", body, expected, html, squeeze)
    for page in sorted((tests / "fixtures" / "html_replies").glob("*.html")):
        yield Fixture(
            "talon",
            f"html_replies/{page.name}",
            page.read_text(encoding="utf-8"),
            "Hi. I am fine.\n\nThanks,\nAlex",
            html=True,
            squeeze=True,
        )
    stripped = tests / "fixtures" / "signature" / "emails" / "stripped"
    for body_file in sorted(stripped.glob("*_body")):
        body = body_file.read_text(encoding="utf-8")
        if "#sig#" in body or "#reply#" in body:
            continue  # lines marked in the notation of talon's classifier training, not an email
        signature = body_file.with_name(body_file.name[: -len("_body")] + "_signature")
        cut = signature.read_text(encoding="utf-8").strip()
        expected = body.strip()[: len(body.strip()) - len(cut)]
        yield Fixture("talon", f"signature/stripped/{body_file.name}", body, expected.strip())


def _talon_fixture_files(tests: Path) -> dict[str, str]:
    """The module-level constants of talon's ``tests/fixtures/__init__.py`` that are read from a
    file (``with open(path) as f: NAME = f.read()``)."""
    module = ast.parse((tests / "fixtures" / "__init__.py").read_text())
    constants: dict[str, str] = {}
    for node in module.body:
        if not isinstance(node, ast.With):
            continue
        call = node.items[0].context_expr
        if not (isinstance(call, ast.Call) and call.args):
            continue
        path = call.args[0]
        if not isinstance(path, ast.Constant) or not isinstance(path.value, str):
            continue
        for statement in node.body:
            if isinstance(statement, ast.Assign) and isinstance(statement.targets[0], ast.Name):
                file = tests.parent / path.value
                constants[statement.targets[0].id] = file.read_text(encoding="utf-8")
    return constants


def _eq_cases(
    module_path: Path, constants: dict[str, str]
) -> Iterator[tuple[str, str, str, bool, bool]]:
    """``eq_(expected, quotations.extract_from_plain(body))`` and
    ``eq_(expected, RE_WHITESPACE.sub('', quotations.extract_from_html(body)))`` in each test
    function, with ``expected`` and ``body`` string literals or names bound to literals earlier
    in the function (or fixture constants)."""
    module = ast.parse(module_path.read_text(encoding="utf-8"))
    for function in module.body:
        if not isinstance(function, ast.FunctionDef) or not function.name.startswith("test_"):
            continue
        if function.decorator_list:
            continue  # its expectation holds under a patched talon, not for the reply as written
        bound = dict(constants)
        count = 0
        for statement in function.body:
            if isinstance(statement, ast.Assign) and isinstance(statement.targets[0], ast.Name):
                value = _string(statement.value, bound)
                if value is not None:
                    bound[statement.targets[0].id] = value
                continue
            if not (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call)):
                continue
            call = statement.value
            if not (isinstance(call.func, ast.Name) and call.func.id == "eq_"):
                continue
            if len(call.args) < 2:
                continue
            expected_node, actual_node = call.args[0], call.args[1]
            squeeze = False
            if _is_whitespace_sub(expected_node):
                assert isinstance(expected_node, ast.Call)
                expected_node, squeeze = expected_node.args[1], True
            if _is_whitespace_sub(actual_node):
                assert isinstance(actual_node, ast.Call)
                actual_node, squeeze = actual_node.args[1], True
            extractor = _extractor(actual_node)
            if extractor is None:
                continue
            assert isinstance(actual_node, ast.Call)
            body = _string(actual_node.args[0], bound)
            expected = _string(expected_node, bound)
            if body is None or expected is None:
                continue
            count += 1
            name = function.name if count == 1 else f"{function.name}[{count}]"
            yield name, body, expected, extractor == "extract_from_html", squeeze


def _string(node: ast.expr, bound: dict[str, str]) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return bound.get(node.id)
    return None


def _is_whitespace_sub(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "sub"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "RE_WHITESPACE"
    )


def _extractor(node: ast.expr) -> str | None:
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "quotations"
        and node.func.attr in ("extract_from_plain", "extract_from_html")
        and node.args
    ):
        return node.func.attr
    return None


# -- quotequail --------------------------------------------------------------------------------


def quotequail_fixtures(root: Path) -> Iterator[Fixture]:
    for module_name, html in (("test_quote.py", False), ("test_quote_html.py", True)):
        module = ast.parse((root / "tests" / module_name).read_text(encoding="utf-8"))
        for function in module.body:
            if not isinstance(function, ast.FunctionDef):
                continue
            for decorator in function.decorator_list:
                cases = _parametrize_cases(decorator)
                for index, case in enumerate(cases):
                    given, _, with_intro = case
                    visible = "".join(chunk for shown, chunk in with_intro if shown)
                    expected = html_to_text(visible) if html else visible
                    yield Fixture(
                        "quotequail",
                        f"{module_name[:-3]}.{function.name}[{index}]",
                        given,
                        expected.strip(),
                        html=html,
                    )


def _parametrize_cases(decorator: ast.expr) -> list[tuple[str, object, list[tuple[bool, str]]]]:
    if not (
        isinstance(decorator, ast.Call)
        and isinstance(decorator.func, ast.Attribute)
        and decorator.func.attr == "parametrize"
        and len(decorator.args) == 2
    ):
        return []
    names = ast.literal_eval(decorator.args[0])
    if tuple(names) != ("text", "expected", "expected_quote_intro_line") and tuple(names) != (
        "html",
        "expected",
        "expected_quote_intro_line",
    ):
        return []
    cases: list[tuple[str, object, list[tuple[bool, str]]]] = ast.literal_eval(decorator.args[1])
    return cases


# -- the comparison ----------------------------------------------------------------------------

_WHITESPACE = re.compile(r"\s+")


def normalised(text: str, squeeze: bool) -> str:
    return _WHITESPACE.sub("" if squeeze else " ", text).strip()


def convene_text(fixture: Fixture, languages: tuple[str, ...]) -> str:
    if isinstance(fixture.given, bytes):
        return parse_message(fixture.given, reply_languages=languages).new_text
    text = html_to_text(fixture.given) if fixture.html else fixture.given
    return new_text(text, languages)


def expected_text(fixture: Fixture) -> str:
    if fixture.html and fixture.squeeze and "<" in fixture.expected:
        return html_to_text(fixture.expected)
    return fixture.expected


def measure(fixtures: list[Fixture], languages: tuple[str, ...]) -> tuple[dict[str, object], list]:
    matched = allowing_signature = 0
    failures: list[dict[str, str]] = []
    by_project: dict[str, list[int]] = {}
    for fixture in fixtures:
        got = normalised(convene_text(fixture, languages), fixture.squeeze)
        expected = expected_text(fixture)
        want = normalised(expected, fixture.squeeze)
        counts = by_project.setdefault(fixture.project, [0, 0, 0])
        counts[2] += 1
        if got == want:
            matched += 1
            allowing_signature += 1
            counts[0] += 1
            counts[1] += 1
            continue
        if got == normalised(without_signature(expected), fixture.squeeze):
            allowing_signature += 1
            counts[1] += 1
            continue
        failures.append({"fixture": f"{fixture.project}:{fixture.name}", "got": got, "want": want})
    total = len(fixtures)
    figures: dict[str, object] = {
        "fixtures": total,
        "matched": matched,
        "matched_share": round(matched / total, 3) if total else None,
        "matched_allowing_signature": allowing_signature,
        "matched_allowing_signature_share": round(allowing_signature / total, 3) if total else None,
        "by_project": {
            project: {"fixtures": n, "matched": m, "matched_allowing_signature": s}
            for project, (m, s, n) in sorted(by_project.items())
        },
    }
    return figures, failures


def main() -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sdists",
        type=Path,
        help="read the sdists (*.tar.gz) from this directory instead of downloading them",
    )
    parser.add_argument("--failures", action="store_true", help="list the fixtures missed")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        roots = (
            from_directory(PROJECTS, args.sdists, Path(tmp))
            if args.sdists
            else download(PROJECTS, Path(tmp))
        )
        fixtures: list[Fixture] = []
        sources: dict[str, str] = {}
        for project, root in roots.items():
            if root is None:
                sources[project] = "sdist not available"
                continue
            if project == "talon":
                found = list(talon_fixtures(root))
            elif project == "quotequail":
                found = list(quotequail_fixtures(root))
            else:
                found = []
            fixtures += found
            sources[project] = (
                f"{root.name}: {len(found)} fixtures"
                if found
                else f"{root.name}: the sdist ships no test emails (its tests read files it "
                "does not include)"
            )
        every_language = tuple(sorted(REPLY_LANGUAGES))
        english, english_failures = measure(fixtures, ("en",))
        every, every_failures = measure(fixtures, every_language)
    figures: dict[str, object] = {
        "sources": sources,
        "english_only": english,
        "every_language": {
            "languages": ",".join(every_language),
            **every,
            "missed": [f["fixture"] for f in every_failures],
        },
    }
    if args.failures:
        figures["failures_every_language"] = every_failures
        figures["failures_english_only"] = [
            f
            for f in english_failures
            if f["fixture"] not in {x["fixture"] for x in every_failures}
        ]
    return report("reply corpora: new text reproduced", figures)


if __name__ == "__main__":
    main()
