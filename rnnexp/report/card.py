"""The finding card: a study's answer as a person reads it.

A card is the verdict as one plain sentence (the experiment's claim and whether it
held: "Holds: bidirectional beats left-to-right."), the checks behind it as a list
(`PASS post: SimpleRNN gain - LSTM gain = -0.07 <= 0.05 (margin 0.12)`) and the
headline metric of every arm as a mean and interval over seeds. It is shown three
ways, all built here from the `Finding` and the results, with no experiment's code
involved:

- `console_lines`: printed at the end of `run`, under `results_text` (a results
  table that fits 120 columns; `--wide` prints them all);
- `run_markdown`: the parent run's Description in the MLflow UI, with the interval
  table and links to the study figure and to the trials side by side;
- `experiment_markdown`: the MLflow experiment's Description, the question the
  study answers.

The finding's full message stays for machines: the parent's `finding.message` tag
and its `summary/finding.txt`.
"""

import sys

from rnnexp.finding import Check, Finding
from rnnexp.console import format_table
from rnnexp.names import plain, plain_label
from rnnexp.report.stats import mean_interval

__all__ = [
    "WIDTH",
    "arm_rows",
    "check_line",
    "claim",
    "console_lines",
    "experiment_markdown",
    "plain_words",
    "question",
    "results_text",
    "run_markdown",
    "verdict",
]

WIDTH = 120  # a results table wider than this wraps in a common terminal


def plain_words(text: str) -> str:
    """`text` with the config spellings of models said plainly ("rnn gain" -> "SimpleRNN gain")."""
    return plain_label(text)


def claim(exp) -> str:
    """The experiment's one-line claim: its `claim` attribute, else its description."""
    text = getattr(exp, "claim", "") or exp.description
    return plain_words(text.strip().rstrip("."))


def question(exp) -> str:
    """The question the study answers: its module docstring's first line, less the name."""
    module = sys.modules.get(type(exp).__module__)
    first = ((module.__doc__ if module else "") or "").strip().splitlines()
    text = first[0] if first else ""
    prefix = f"{exp.name}:"
    return text[len(prefix) :].strip() if text.startswith(prefix) else text.strip()


def verdict(exp, finding: Finding | None) -> str:
    """One sentence: the claim and whether it held."""
    said = claim(exp)
    if finding is None:
        return f"Not evaluated: {said}."
    if finding.passed:
        return f"Holds: {said}."
    if finding.checks:
        return f"Does not hold: {said}."
    why = finding.message if len(finding.message) <= 200 else finding.message[:197] + "..."
    return f"Not shown ({why}): {said}."


def _num(value: float, digits: int = 3) -> str:
    return f"{float(value):.{digits}g}"


def check_line(check: Check) -> str:
    """`PASS post: SimpleRNN gain - LSTM gain = -0.07 <= 0.05 (margin 0.12)`."""
    status = "PASS" if check.passed else "FAIL"
    unit = " orders of magnitude" if check.log else ""
    return (
        f"{status} {plain_words(check.label)} = {_num(check.value)} {check.op} "
        f"{float(check.threshold):g} (margin {_num(check.margin, 2)}{unit})"
    )


def _check_lines(finding: Finding | None) -> list[str]:
    if finding is None:
        return []
    if finding.checks:
        return [check_line(c) for c in finding.checks]
    # A finding stated without structured checks: its message is its one line.
    return [f"{'PASS' if finding.passed else 'FAIL'} {plain_words(finding.message)}"]


def arm_rows(results, metric: str | None, plain_values: bool = False) -> list[dict]:
    """One row per arm (a trial's parameters less its seed): the seeds run and `metric`.

    The metric is the mean over the arm's finished seeds with its 95% interval
    ("1 seed" where there is one: no interval). Arms keep the sweep's order.
    """
    if not results or not metric:
        return []
    keys = [k for k in results[0].trial if k != "seed"]
    arms: dict[tuple, dict] = {}
    for r in results:
        arm = arms.setdefault(tuple(r.trial.get(k) for k in keys), {"values": [], "failed": 0})
        if r.status == "FINISHED" and metric in r.metrics:
            arm["values"].append(r.metrics[metric])
        else:
            arm["failed"] += 1
    rows = []
    for values, arm in arms.items():
        row = {
            k: plain(v) if plain_values and isinstance(v, str) else v for k, v in zip(keys, values)
        }
        row["seeds"] = len(arm["values"])
        row[metric] = str(mean_interval(arm["values"])) if arm["values"] else "-"
        if arm["failed"]:
            row["not finished"] = arm["failed"]
        rows.append(row)
    return rows


def results_text(rows: list[dict], keys, metric: str | None, wide=False, width=WIDTH) -> str:
    """The per-trial results table: every column if `wide`, else the ones that fit `width`.

    The trial's parameters, its status and the headline metric come first; other
    metrics follow while the table still fits; errors are said on their own line.
    """
    if not rows:
        return "(no trials)"
    rows = [  # models by their plain names
        {k: plain_label(v) if k in keys and isinstance(v, str) else v for k, v in row.items()}
        for row in rows
    ]
    columns = list(dict.fromkeys(k for row in rows for k in row))
    if wide:
        return format_table(rows, columns)
    first = [c for c in [*keys, "status", metric] if c in columns]
    rest = [c for c in columns if c not in first and c != "error"]
    shown = list(first)
    for column in rest:
        if _width(rows, [*shown, column]) <= width:
            shown.append(column)
    text = format_table(rows, shown)
    hidden = len(columns) - len(shown) - ("error" in columns)
    if hidden:
        text += f"\n({hidden} more column(s): --wide shows them)"
    return text


def _width(rows, columns) -> int:
    return max(len(line) for line in format_table(rows, columns).splitlines())


def console_lines(exp, finding: Finding | None) -> list[str]:
    """The card as the console prints it: the verdict, then one line per check."""
    return [verdict(exp, finding), *(f"  {line}" for line in _check_lines(finding))]


def _markdown_table(rows: list[dict]) -> str:
    columns = list(dict.fromkeys(k for row in rows for k in row))
    escape = str.maketrans({"|": "\\|"})
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += [
        "| " + " | ".join(str(row.get(c, "")).translate(escape) for c in columns) + " |"
        for row in rows
    ]
    return "\n".join(lines)


def run_markdown(
    exp,
    finding: Finding | None,
    results,
    *,
    figure_src: str | None = None,
    figure_link: str | None = None,
    compare_link: str | None = None,
    trials_note: str = "",
) -> str:
    """The parent run's Description: verdict, figure, checks, interval table, links.

    Args:
        figure_src: the study figure's URL for an inline image (None: no figure).
        figure_link: where the figure opens in the UI's artifact view.
        compare_link: the sweep's trials side by side in the UI.
        trials_note: a line on trials that failed or are missing, if any.
    """
    lines = [f"### {verdict(exp, finding)}", ""]
    if figure_src:
        image = f"![the study figure]({figure_src})"
        lines += [f"[{image}]({figure_link})" if figure_link else image, ""]
    checks = _check_lines(finding)
    if checks:
        lines += ["**Checks**", ""] + [f"- `{line}`" for line in checks] + [""]
    if trials_note:
        lines += [trials_note, ""]
    arms = arm_rows(results, exp.metric, plain_values=True)
    if arms:
        lines += [f"**{exp.metric}** per arm, mean ± 95% interval over seeds:", ""]
        lines += [_markdown_table(arms), ""]
    links = []
    if figure_link:
        links.append(f"[the study figure]({figure_link})")
    if compare_link:
        links.append(f"[the trials side by side]({compare_link})")
    links.append("the full finding: `summary/finding.txt`")
    lines.append(" · ".join(links))
    return "\n".join(lines) + "\n"


def experiment_markdown(exp, latest: str | None = None) -> str:
    """The MLflow experiment's Description: the question, the claim, how to run it.

    Args:
        latest: a markdown line on the newest sweep (its verdict and link), if any.
    """
    lines = [f"### {question(exp) or exp.name}", "", f"**Claim:** {claim(exp)}.", ""]
    shows = getattr(exp, "shows", "")
    if shows:
        lines += [plain_words(shows), ""]
    lines += [
        f"Run it: `python -m rnnexp run {exp.name} --profile ci` (minutes; CI asserts the "
        f"finding), `python -m rnnexp run {exp.name}` (the study).",
        "",
    ]
    if latest:
        lines += [latest, ""]
    return "\n".join(lines)
